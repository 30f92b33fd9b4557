using TorchSharp.Modules;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// A second optimizer of the same type over the same parameters that never steps: capturing a checkpoint copies the
/// live optimizer's state into it (TorchSharp's <c>load_state_dict</c> copies every state tensor), and the background
/// write serialises the twin while the live one trains on. Costs one more copy of the optimizer state, on rank 0 only.
/// Not thread-safe: the caller copies only after the previous write of the twin has finished.
/// </summary>
public sealed class OptimizerTwin(Func<OptimizerHelper> create) : IDisposable
{
    private readonly Func<OptimizerHelper> _create = create ?? throw new ArgumentNullException(nameof(create));
    private OptimizerHelper? _twin;
    private OptimizerHelper? _source;

    /// <summary>
    /// Copies <paramref name="live"/>'s state into the twin and returns it, or returns null when the state cannot be
    /// copied (an SGD momentum buffer before the first step is null): the caller then serialises synchronously.
    /// </summary>
    public OptimizerHelper? CopyFrom(OptimizerHelper live)
    {
        ArgumentNullException.ThrowIfNull(live);
        var state = live.state_dict();
        if (state.State.Any(s => s is SGD.State { momentum_buffer: null })) return null;
        var twin = For(live);
        twin.load_state_dict(state);
        return twin;
    }

    /// <summary>Builds the twin for <paramref name="live"/> now, so that the first capture does not pay for it.</summary>
    public void Prepare(OptimizerHelper live) => For(live);

    private OptimizerHelper For(OptimizerHelper live)
    {
        ArgumentNullException.ThrowIfNull(live);
        if (ReferenceEquals(_source, live)) return _twin!;
        // A new live optimizer (fine-tuning rebuilt it): a new twin over its parameters.
        _twin?.Dispose();
        _twin = _create();
        _source = live;
        if (_twin.GetType() != live.GetType())
            throw new InvalidOperationException($"The optimizer twin is a {_twin.GetType().Name}, the live optimizer a {live.GetType().Name}.");
        return _twin;
    }

    public void Dispose()
    {
        _twin?.Dispose();
        _twin = null;
        _source = null;
    }
}
