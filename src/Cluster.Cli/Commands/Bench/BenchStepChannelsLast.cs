using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Cli.Commands.Bench;

/// <summary>channels_last (NHWC strides under an NCHW shape) without TorchSharp support for memory_format: a permute to
/// NHWC, contiguous, and a permute back gives exactly the strides of PyTorch's <c>x.contiguous(memory_format=channels_last)</c>.</summary>
internal static class BenchStepChannelsLast
{
    public static Tensor Convert(Tensor x)
    {
        if (x.dim() != 4) return x.alias();
        using var nhwc = x.permute(0, 2, 3, 1);
        using var dense = nhwc.contiguous();
        return dense.permute(0, 3, 1, 2);
    }

    /// <summary>Replaces every Conv2d weight by a channels_last copy (before an optimizer is created over the parameters).</summary>
    public static void ConvertWeights(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var (_, child) in module.named_modules())
        {
            if (child is not Conv2d conv || conv.weight is not { } weight) continue;
            using var detached = weight.detach();
            conv.weight = new Parameter(Convert(detached), weight.requires_grad);
            weight.Dispose();
        }
    }
}
