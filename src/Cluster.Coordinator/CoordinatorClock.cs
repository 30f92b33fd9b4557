namespace Cluster.Coordinator;

/// <summary>
/// The time source of coordinator decisions (leases, settle window, checkpoint deadlines). A wrapper rather
/// than a plain <see cref="TimeProvider"/> registration so tests can fake coordinator time without faking
/// Orleans' own clocks.
/// </summary>
public sealed class CoordinatorClock(TimeProvider time)
{
    /// <summary>The wrapped provider.</summary>
    public TimeProvider Time { get; } = time;

    /// <summary>Current UTC time.</summary>
    public DateTimeOffset UtcNow => Time.GetUtcNow();
}
