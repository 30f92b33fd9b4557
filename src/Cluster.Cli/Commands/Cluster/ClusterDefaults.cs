namespace Cluster.Cli.Commands.Cluster;

/// <summary>Defaults shared by the clustered-mode commands.</summary>
internal static class ClusterDefaults
{
    /// <summary>Orleans cluster and service id of a clustered deployment.</summary>
    public const string ClusterId = "cluster";

    /// <summary>How long the Redis pre-check may take before a command fails naming the endpoint.</summary>
    public static readonly TimeSpan RedisCheck = TimeSpan.FromSeconds(5);

    /// <summary>Default folder of rank logs: ~/.local/share/cluster/logs (or the platform's local application data).</summary>
    public static string LogsDirectory
    {
        get
        {
            var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            if (string.IsNullOrEmpty(root)) root = Path.Combine(Path.GetTempPath(), "cluster-" + Environment.UserName);
            return Path.Combine(root, "cluster", "logs");
        }
    }
}
