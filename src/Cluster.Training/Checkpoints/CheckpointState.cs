using Cluster.Training.Data;

namespace Cluster.Training.Checkpoints;

/// <summary>The trainer's scalar state, stored as <c>state.json</c> in every checkpoint.</summary>
public sealed record CheckpointState
{
    /// <summary>Optimizer steps applied (the checkpoint directory is <c>step-{Step}</c>).</summary>
    public required long Step { get; init; }
    public required int Epoch { get; init; }
    /// <summary>Data position after the last applied step; world-size independent.</summary>
    public required SamplerCursor Cursor { get; init; }
    /// <summary>Hash of the job spec the state belongs to (the trainer decides whether a mismatch is fatal).</summary>
    public string JobSpecHash { get; init; } = "";
    /// <summary>World size when the checkpoint was taken (informational: restore may use another one).</summary>
    public int WorldSize { get; init; } = 1;
    /// <summary>Named RNG states (e.g. "torch" from <see cref="TorchRng.Capture"/>), base64 in JSON.</summary>
    public IReadOnlyDictionary<string, byte[]> RngStates { get; init; } = new Dictionary<string, byte[]>();
    /// <summary>Free-form extra values (metrics, learning rate, ...).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();
    public DateTimeOffset CreatedUtc { get; init; }

    public void Validate()
    {
        if (Step < 0) throw new ArgumentOutOfRangeException(nameof(Step), Step, "Step must be non-negative.");
        if (Epoch < 0) throw new ArgumentOutOfRangeException(nameof(Epoch), Epoch, "Epoch must be non-negative.");
        ArgumentNullException.ThrowIfNull(Cursor);
        Cursor.Validate();
        if (WorldSize <= 0) throw new ArgumentOutOfRangeException(nameof(WorldSize), WorldSize, "WorldSize must be positive.");
    }
}
