using static TorchSharp.torch;

namespace Cluster.Training.Distributed;

/// <summary>Copies between float32 tensors and one flat host array (used for infrequent state transfers).</summary>
internal static class TensorPacking
{
    public static void Pack(IReadOnlyList<Tensor> tensors, float[] destination)
    {
        long offset = 0;
        using var _ = no_grad();
        foreach (var t in tensors)
        {
            var n = t.numel();
            using var view = frombuffer(destination, ScalarType.Float32, n, offset);
            using var flat = t.reshape(-1);
            view.copy_(flat);
            offset += n;
        }
    }

    public static void Unpack(float[] source, IReadOnlyList<Tensor> tensors)
    {
        long offset = 0;
        using var _ = no_grad();
        foreach (var t in tensors)
        {
            var n = t.numel();
            using var view = frombuffer(source, ScalarType.Float32, n, offset);
            using var shaped = view.view(t.shape);
            t.copy_(shaped);
            offset += n;
        }
    }
}
