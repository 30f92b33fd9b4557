namespace Cluster.Coordinator.Decisions;

/// <summary>Inputs of <see cref="LivenessDecider"/>.</summary>
public abstract record LivenessEvent
{
    /// <summary>A generation of <paramref name="WorldSize"/> ranks starts: every rank gets a fresh lease.</summary>
    public sealed record Start(int WorldSize) : LivenessEvent;

    /// <summary>Rank renewed its lease (heartbeat or progress).</summary>
    public sealed record Renew(int Rank) : LivenessEvent;

    /// <summary>Time passed: expire lapsed leases.</summary>
    public sealed record Tick : LivenessEvent;

    /// <summary>Rank's process exited; 0 = finished.</summary>
    public sealed record Exited(int Rank, int ExitCode, string? Detail) : LivenessEvent;
}
