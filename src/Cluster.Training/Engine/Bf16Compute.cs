using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>The trainer's bf16 scheme (bf16 compute copy, fp32 master weights, gradients copied to the master) for code
/// outside the trainer that must measure or reproduce exactly what bf16 training does per step, e.g. `cluster bench step`.</summary>
public sealed class Bf16Compute : IDisposable
{
    private readonly Bf16Shadow shadow;

    /// <param name="master">The fp32 model the optimizer updates.</param>
    /// <param name="copy">A second instance of the same architecture; it becomes the bf16 compute copy and is owned (disposed) by this.</param>
    public Bf16Compute(nn.Module<Tensor, Tensor> master, nn.Module<Tensor, Tensor> copy)
    {
        ArgumentNullException.ThrowIfNull(master);
        ArgumentNullException.ThrowIfNull(copy);
        shadow = new Bf16Shadow(master, copy);
        shadow.MirrorTrainable();
    }

    /// <summary>The bf16 copy that runs forward and backward.</summary>
    public nn.Module<Tensor, Tensor> Model => shadow.Model;

    /// <summary>Master gradients := bf16 gradients; bf16 gradients cleared (before the optimizer step).</summary>
    public void GradientsToMaster() => shadow.GradientsToMaster();

    /// <summary>bf16 weights := master weights (after the optimizer step).</summary>
    public void WeightsFromMaster() => shadow.WeightsFromMaster();

    public void Dispose() => shadow.Dispose();
}
