namespace Cluster.Agent.Grains;

/// <summary>Constants of the job directory.</summary>
public static class JobDirectory
{
    /// <summary>Key of the single <see cref="IJobDirectoryGrain"/>.</summary>
    public const string Key = "jobs";

    /// <summary>The directory keeps at most this many jobs (oldest dropped first).</summary>
    public const int Capacity = 500;
}
