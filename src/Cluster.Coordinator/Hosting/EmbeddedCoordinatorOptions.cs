namespace Cluster.Coordinator.Hosting;

/// <summary>A single-silo coordinator on localhost (the CLI's "run locally" mode).</summary>
public sealed record EmbeddedCoordinatorOptions
{
    /// <summary>Silo-to-silo port on 127.0.0.1.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Client gateway port on 127.0.0.1 (agents and the CLI connect here).</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>Memory or file storage.</summary>
    public EmbeddedStorageKind Storage { get; init; } = EmbeddedStorageKind.Memory;

    /// <summary>Directory of the file storage; required when <see cref="Storage"/> is File.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Orleans cluster id (clients must use the same).</summary>
    public string ClusterId { get; init; } = "cluster-local";

    /// <summary>Orleans service id.</summary>
    public string ServiceId { get; init; } = "cluster";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public EmbeddedCoordinatorOptions Validated()
    {
        if (SiloPort is < 1 or > 65535) throw new ArgumentException($"SiloPort must be 1..65535 (got {SiloPort})");
        if (GatewayPort is < 1 or > 65535 || GatewayPort == SiloPort) throw new ArgumentException($"GatewayPort must be 1..65535 and differ from SiloPort (got {GatewayPort})");
        if (Storage == EmbeddedStorageKind.File && string.IsNullOrWhiteSpace(StateDirectory)) throw new ArgumentException("StateDirectory is required with file storage");
        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId)) throw new ArgumentException("ClusterId and ServiceId are required");
        return this;
    }
}
