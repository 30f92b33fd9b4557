using static TorchSharp.torch;

namespace Cluster.Training.Distributed;

/// <summary>A contiguous float32 array (allocated once on the pinned object heap and reused every step) holding the gradients of several parameters. <see cref="Flat"/> and the
/// per-parameter <see cref="slices"/> are zero-copy views of <see cref="Array"/> created once with
/// <c>torch.frombuffer</c>, so packing and unpacking are plain in-place copies with no per-step allocation.</summary>
internal sealed class GradientBucket : IDisposable
{
    private readonly Tensor[] parameters;
    private readonly Tensor[] slices;

    /// <param name="parameters">The parameters whose gradients it holds.</param>
    /// <param name="sideSlots">Extra floats after the gradients that travel in the same all-reduce (<see cref="Side"/>).</param>
    public GradientBucket(IReadOnlyList<Tensor> parameters, int sideSlots = 0)
    {
        this.parameters = [.. parameters];
        Count = (int)parameters.Sum(p => p.numel());
        SideSlots = sideSlots;
        Array = GC.AllocateUninitializedArray<float>(Math.Max(Count + sideSlots, 1), pinned: true);
        Flat = frombuffer(Array, ScalarType.Float32, Count, 0);
        slices = new Tensor[parameters.Count];
        long offset = 0;
        for (var i = 0; i < parameters.Count; i++)
        {
            var n = parameters[i].numel();
            using var range = Flat.narrow(0, offset, n);
            slices[i] = range.view(parameters[i].shape);
            offset += n;
        }
    }

    public float[] Array { get; }
    public int Count { get; }
    public Tensor Flat { get; }
    public int SideSlots { get; }
    /// <summary>The gradients and the side slots: what one all-reduce carries.</summary>
    public Memory<float> Memory => Array.AsMemory(0, Count + SideSlots);
    /// <summary>The side slots: values that ride along with the gradients (reduced the same way).</summary>
    public Span<float> Side => Array.AsSpan(Count, SideSlots);

    /// <summary>Copies every parameter's gradient into the bucket (zeros for a parameter without gradient).</summary>
    public void Pack()
    {
        using var _ = no_grad();
        for (var i = 0; i < parameters.Length; i++)
        {
            using var grad = parameters[i].grad;
            if (grad is null) slices[i].zero_();
            else slices[i].copy_(grad);
        }
    }

    /// <summary>Copies the reduced values back into the gradients (creating a gradient where a parameter had none).</summary>
    public void Unpack()
    {
        using var _ = no_grad();
        for (var i = 0; i < parameters.Length; i++)
        {
            using var grad = parameters[i].grad;
            if (grad is null) parameters[i].grad = slices[i].clone();
            else grad.copy_(slices[i]);
        }
    }

    public void Dispose()
    {
        foreach (var s in slices) s.Dispose();
        Flat.Dispose();
    }
}
