using System.Collections.Immutable;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// When the job's losses spent a restart of the budget (<see cref="Losses"/>, oldest first) and every failure that led to
/// one (or ended the job), oldest first.
/// </summary>
public sealed record RecoveryState(ImmutableList<DateTimeOffset> Losses, ImmutableList<string> Failures)
{
    /// <summary>No failure yet.</summary>
    public static RecoveryState Empty => new([], []);

    /// <summary>Restarts spent over the job's whole life.</summary>
    public int Restarts => Losses.Count;
}
