namespace Cluster.Agent;

/// <summary>Exit codes of a coordinated rank process.</summary>
public static class RankExitCodes
{
    /// <summary>Training finished.</summary>
    public const int Success = 0;
    /// <summary>Training or setup failed on this rank.</summary>
    public const int Failure = 1;
    /// <summary>The rank's environment or the job spec is unusable.</summary>
    public const int InvalidInput = 2;
    /// <summary>The coordinator refused the join (wrong secret, closed rendezvous) or did not admit this member.</summary>
    public const int Refused = 4;
    /// <summary>The coordinator told the rank to stop (job failed or cancelled elsewhere) or fenced it.</summary>
    public const int Aborted = 5;
}
