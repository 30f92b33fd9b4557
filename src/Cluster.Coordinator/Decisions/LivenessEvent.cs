namespace Cluster.Coordinator.Decisions;

/// <summary>Inputs of <see cref="LivenessDecider"/>.</summary>
public abstract record LivenessEvent
{
    /// <summary>
    /// A generation of <paramref name="WorldSize"/> ranks starts: every rank gets a fresh lease (and, unless the
    /// generation was formed by <paramref name="Recovery"/>, the first-beat grace).
    /// </summary>
    public sealed record Start(int WorldSize, bool Recovery = false) : LivenessEvent;

    /// <summary>
    /// Ranks renewed their leases (one node beat renews all the ranks it lists), at the decision's time or, when
    /// <paramref name="At"/> is given (one entry per rank), each at the time its beat arrived (renewals applied in a batch).
    /// </summary>
    public sealed record Renew(IReadOnlyList<int> Ranks, IReadOnlyList<DateTimeOffset>? At = null) : LivenessEvent;

    /// <summary>Time passed: expire lapsed leases.</summary>
    public sealed record Tick : LivenessEvent;

    /// <summary>
    /// The host of <paramref name="Ranks"/> is gone (its silo was declared dead by Orleans membership): they are lost at
    /// once, without waiting for their leases to lapse; <paramref name="Reason"/> says which node and silo.
    /// </summary>
    public sealed record HostDead(IReadOnlyList<int> Ranks, string Reason) : LivenessEvent;

    /// <summary>Rank's process exited; 0 = finished.</summary>
    public sealed record Exited(int Rank, int ExitCode, string? Detail) : LivenessEvent;
}
