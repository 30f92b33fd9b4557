using static TorchSharp.torch;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// Tensors that hold a copy of a module's state_dict between saves: the first capture allocates them, later captures
/// copy into them in place (no allocation, no fresh pages to fault in on the training thread). Not thread-safe: the
/// caller copies only after the previous write of the copies has finished, as <see cref="OptimizerTwin"/> requires.
/// </summary>
public sealed class ModuleTwin : IDisposable
{
    private readonly Dictionary<string, Tensor> _copies = new(StringComparer.Ordinal);

    /// <summary>Copies <paramref name="live"/>'s parameters and buffers into the twin and returns the copies.</summary>
    public IReadOnlyDictionary<string, Tensor> CopyFrom(nn.Module live)
    {
        ArgumentNullException.ThrowIfNull(live);
        using var _ = no_grad();
        var state = live.state_dict();
        if (!Matches(state)) Reset();
        foreach (var (key, tensor) in state)
        {
            using var detached = tensor.detach();
            if (_copies.TryGetValue(key, out var copy)) copy.copy_(detached);
            else _copies.Add(key, detached.clone().DetachFromDisposeScope());
        }
        return _copies;
    }

    // Same names, shapes and dtypes as the copies held (a rebuilt or fine-tuned model gets fresh copies).
    private bool Matches(IDictionary<string, Tensor> state)
    {
        if (_copies.Count == 0) return true;
        if (state.Count != _copies.Count) return false;
        foreach (var (key, tensor) in state)
        {
            if (!_copies.TryGetValue(key, out var copy) || copy.dtype != tensor.dtype || copy.device_type != tensor.device_type
                || !copy.shape.AsSpan().SequenceEqual(tensor.shape)) return false;
        }
        return true;
    }

    private void Reset()
    {
        foreach (var copy in _copies.Values) copy.Dispose();
        _copies.Clear();
    }

    public void Dispose() => Reset();
}
