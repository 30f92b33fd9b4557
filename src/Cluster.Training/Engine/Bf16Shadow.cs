using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// bf16 compute with fp32 master weights: a bfloat16 copy of the model runs forward and backward; its gradients are
/// copied into the fp32 master parameters (which DDP all-reduces and the optimizer updates); after the step the master
/// weights are copied back into the bf16 copy. BatchNorm statistics live in the bf16 copy during training and are
/// copied to the master (for evaluation, checkpoints and cross-rank sync) after every step. BatchNorm layers of the copy
/// stay float32.
/// </summary>
internal sealed class Bf16Shadow : IDisposable
{
    private readonly (Tensor Master, Tensor Shadow)[] parameters;
    private readonly (Tensor Master, Tensor Shadow)[] buffers;

    public Bf16Shadow(nn.Module<Tensor, Tensor> master, nn.Module<Tensor, Tensor> shadow)
    {
        Model = shadow;
        using (no_grad()) shadow.load_state_dict(master.state_dict());
        shadow.to(ScalarType.BFloat16);
        // BatchNorm stays float32 (as under PyTorch autocast): libtorch's CPU kernels take bf16 activations with fp32
        // affine parameters and running statistics, which keeps the statistics from drifting in 8-bit mantissas.
        foreach (var (_, module) in shadow.named_modules())
        {
            if (module is BatchNorm1d or BatchNorm2d or BatchNorm3d) module.to(ScalarType.Float32);
        }
        var sp = shadow.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        parameters = master.named_parameters().Select(p => ((Tensor)p.parameter, sp[p.name])).ToArray();
        var sb = shadow.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        buffers = master.named_buffers().Select(b => (b.buffer, sb[b.name])).ToArray();
    }

    public nn.Module<Tensor, Tensor> Model { get; }

    /// <summary>Copies requires_grad flags (freezing) from the master.</summary>
    public void MirrorTrainable()
    {
        foreach (var (m, s) in parameters) s.requires_grad = m.requires_grad;
    }

    /// <summary>Master gradients := bf16 gradients (converted to float32); bf16 gradients are cleared.</summary>
    public void GradientsToMaster()
    {
        using var _ = no_grad();
        foreach (var (m, s) in parameters)
        {
            if (!m.requires_grad) continue;
            using var sg = s.grad;
            if (sg is null) continue;
            using var mg = m.grad;
            if (mg is null) m.grad = sg.to_type(ScalarType.Float32);
            else mg.copy_(sg);
            sg.zero_();
        }
    }

    /// <summary>bf16 weights := master weights; master buffers := bf16 buffers.</summary>
    public void WeightsFromMaster()
    {
        using var _ = no_grad();
        foreach (var (m, s) in parameters) s.copy_(m);
    }

    public void BuffersToMaster()
    {
        using var _ = no_grad();
        foreach (var (m, s) in buffers) m.copy_(s);
    }

    public void BuffersFromMaster()
    {
        using var _ = no_grad();
        foreach (var (m, s) in buffers) s.copy_(m);
    }

    public void Dispose() => Model.Dispose();
}
