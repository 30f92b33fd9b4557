namespace Cluster.Coordinator.Contracts;

/// <summary>Helpers over <see cref="JobState"/>.</summary>
public static class JobStateExtensions
{
    /// <summary>True for Completed, Failed and Cancelled: no further transition is possible.</summary>
    public static bool IsTerminal(this JobState state) =>
        state is JobState.Completed or JobState.Failed or JobState.Cancelled;
}
