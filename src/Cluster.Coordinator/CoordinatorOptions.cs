namespace Cluster.Coordinator;

/// <summary>Timing of the job grain. Defaults suit a LAN cluster; tests shorten them.</summary>
public sealed record CoordinatorOptions
{
    /// <summary>A rank not renewed by its node's beats for this long fails the job (five beats at the agent's 1 s default).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A rank that has not beaten yet keeps its first lease this long from a generation's start (or from the grain's
    /// reactivation): the nodes still fetch their assignment and peer table and the ranks connect (seconds at 1,000
    /// nodes). Its first renewal ends its grace: from then on its lease is <see cref="LeaseDuration"/>.
    /// </summary>
    public TimeSpan FirstBeatGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>With at least min workers present, wait this long after the last join for more before assigning ranks.</summary>
    public TimeSpan SettleWindow { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the grain timer checks leases, settle window and checkpoint deadlines.</summary>
    public TimeSpan TickPeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest a single held call (WaitForNodeAssignment, WaitForDirective) blocks; must stay below the Orleans response
    /// timeout (30 s by default). Each node re-issues its held directive call this often: at 1 s beats, 5 % of its calls.
    /// </summary>
    public TimeSpan MaxLongPoll { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>An open checkpoint not acked by every rank within this time is aborted.</summary>
    public TimeSpan CheckpointAckTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public CoordinatorOptions Validated()
    {
        if (LeaseDuration <= TimeSpan.Zero) throw new ArgumentException($"LeaseDuration must be > 0 (got {LeaseDuration})");
        if (FirstBeatGrace < TimeSpan.Zero) throw new ArgumentException($"FirstBeatGrace must be >= 0 (got {FirstBeatGrace})");
        if (SettleWindow < TimeSpan.Zero) throw new ArgumentException($"SettleWindow must be >= 0 (got {SettleWindow})");
        if (TickPeriod <= TimeSpan.Zero || TickPeriod > LeaseDuration) throw new ArgumentException($"TickPeriod must be in (0, LeaseDuration] (got {TickPeriod})");
        if (MaxLongPoll <= TimeSpan.Zero || MaxLongPoll > TimeSpan.FromSeconds(20)) throw new ArgumentException($"MaxLongPoll must be in (0, 20s] to stay below the Orleans response timeout (got {MaxLongPoll})");
        if (CheckpointAckTimeout <= TimeSpan.Zero) throw new ArgumentException($"CheckpointAckTimeout must be > 0 (got {CheckpointAckTimeout})");
        return this;
    }
}
