using System.Collections.Immutable;

namespace Cluster.Coordinator.Decisions;

/// <summary>Recoveries so far and every failure that led to one (or ended the job), oldest first.</summary>
public sealed record RecoveryState(int Restarts, ImmutableList<string> Failures)
{
    /// <summary>No failure yet.</summary>
    public static RecoveryState Empty => new(0, []);
}
