namespace Cluster.Coordinator.Hosting;

/// <summary>Where an embedded coordinator keeps job state.</summary>
public enum EmbeddedStorageKind
{
    /// <summary>In memory: lost when the process exits (tests, throwaway runs).</summary>
    Memory,
    /// <summary>One JSON file per job under a directory (survives restarts of a single-node coordinator).</summary>
    File,
}
