namespace Cluster.Coordinator.Hosting;

/// <summary>A coordinator silo in a multi-node cluster: membership and job state in Redis.</summary>
public sealed record ClusteredCoordinatorOptions
{
    /// <summary>StackExchange.Redis configuration string, e.g. "10.0.0.5:6379,password=...".</summary>
    public required string RedisConfiguration { get; init; }

    /// <summary>Address other silos and clients reach this silo at.</summary>
    public required System.Net.IPAddress AdvertisedAddress { get; init; }

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Client gateway port.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>Orleans cluster id (all silos and clients of one deployment share it).</summary>
    public string ClusterId { get; init; } = "cluster";

    /// <summary>Orleans service id (keys the grain state in Redis).</summary>
    public string ServiceId { get; init; } = "cluster";

    /// <summary>Total time the startup Redis pre-check may retry before failing.</summary>
    public TimeSpan RedisCheckDeadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Silo failure detection (default: tuned for training, about a second; <see cref="MembershipTuning.Defaults"/>: Orleans' own).</summary>
    public MembershipTuning Membership { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public ClusteredCoordinatorOptions Validated()
    {
        if (string.IsNullOrWhiteSpace(RedisConfiguration)) throw new ArgumentException("RedisConfiguration is required");
        if (SiloPort is < 1 or > 65535) throw new ArgumentException($"SiloPort must be 1..65535 (got {SiloPort})");
        if (GatewayPort is < 1 or > 65535 || GatewayPort == SiloPort) throw new ArgumentException($"GatewayPort must be 1..65535 and differ from SiloPort (got {GatewayPort})");
        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId)) throw new ArgumentException("ClusterId and ServiceId are required");
        if (RedisCheckDeadline <= TimeSpan.Zero) throw new ArgumentException($"RedisCheckDeadline must be > 0 (got {RedisCheckDeadline})");
        Membership.Validated();
        return this;
    }
}
