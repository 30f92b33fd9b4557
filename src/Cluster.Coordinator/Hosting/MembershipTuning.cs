using Orleans.Configuration;

namespace Cluster.Coordinator.Hosting;

/// <summary>
/// Orleans membership (silo failure detection) tuned for a training cluster: a lost node costs every rank a stalled step,
/// so a dead silo is declared in about a second instead of Orleans' ~6 s. Each silo probes <see cref="ProbedSilos"/>
/// others every <see cref="ProbeTimeout"/>; <see cref="MissedProbes"/> missed probes make a suspicion, and
/// <see cref="VotesForDeath"/> suspicions declare the silo dead in the Redis membership table. The trade-off: a silo
/// that stalls longer than <c>MissedProbes × ProbeTimeout</c> (a full GC, a saturated CPU) is suspected, so the probe
/// timeout is extended while the prober itself is degraded (Orleans' local health check) and a single prober cannot
/// declare a death alone. <see cref="Defaults"/> is Orleans' own configuration, for comparison.
/// </summary>
public sealed record MembershipTuning
{
    /// <summary>Time a probe may take, and the period between probes (Orleans: 5 s).</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Missed probes in a row before the prober suspects the silo (Orleans: 3).</summary>
    public int MissedProbes { get; init; } = 2;

    /// <summary>Suspicions (from different silos) that declare a silo dead (Orleans: 2); fewer live silos need fewer.</summary>
    public int VotesForDeath { get; init; } = 2;

    /// <summary>Silos each silo probes (Orleans: 10).</summary>
    public int ProbedSilos { get; init; } = 10;

    /// <summary>Period between full reads of the membership table, a backstop to gossip (Orleans: 60 s).</summary>
    public TimeSpan TableRefresh { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long after a silo is declared dead the grain directory still refuses new activations of the grains it hosted
    /// (Orleans' range lease: 30 s less the detection window, so a job grain came back about 27 s after its silo died). A
    /// silo declared dead while its process lives on (a cut link) stops once it reads its own death from the table
    /// (<see cref="TableRefresh"/>); until then a second job grain may run next to it, and the job grain's ETag-guarded
    /// state writes and the generation fence, not the directory, keep the two from both committing.
    /// </summary>
    public TimeSpan DirectoryHold { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>False: leave Orleans' own membership configuration as it is (<see cref="Defaults"/>).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Orleans' defaults, untouched.</summary>
    public static MembershipTuning Defaults { get; } = new() { Enabled = false };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public MembershipTuning Validated()
    {
        if (ProbeTimeout < TimeSpan.FromMilliseconds(100) || ProbeTimeout > TimeSpan.FromSeconds(30))
            throw new ArgumentException($"ProbeTimeout must be in [100ms, 30s] (got {ProbeTimeout})");
        if (MissedProbes is < 1 or > 10) throw new ArgumentException($"MissedProbes must be 1..10 (got {MissedProbes})");
        if (ProbedSilos is < 1 or > 100) throw new ArgumentException($"ProbedSilos must be 1..100 (got {ProbedSilos})");
        if (VotesForDeath < 1 || VotesForDeath > ProbedSilos) throw new ArgumentException($"VotesForDeath must be 1..ProbedSilos (got {VotesForDeath})");
        if (TableRefresh < TimeSpan.FromSeconds(1)) throw new ArgumentException($"TableRefresh must be >= 1s (got {TableRefresh})");
        if (DirectoryHold < TimeSpan.Zero || DirectoryHold > TimeSpan.FromMinutes(5)) throw new ArgumentException($"DirectoryHold must be in [0, 5min] (got {DirectoryHold})");
        return this;
    }

    /// <summary>Writes the tuning into Orleans' options (nothing when not <see cref="Enabled"/>).</summary>
    public void ApplyTo(ClusterMembershipOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (!Enabled) return;
        o.ProbeTimeout = ProbeTimeout;
        o.MaxProbeTimeout = MaxProbeTimeout;
        o.MinProbeTimeout = ProbeTimeout < o.MinProbeTimeout ? ProbeTimeout : o.MinProbeTimeout;
        o.NumMissedProbesLimit = MissedProbes;
        o.NumVotesForDeathDeclaration = VotesForDeath;
        o.NumProbedSilos = ProbedSilos;
        o.TableRefreshTimeout = TableRefresh;
        o.ExtendProbeTimeoutDuringDegradation = true;
        o.EnableIndirectProbes = true;
    }

    /// <summary>
    /// The longest a probe may take once extended under degradation: two probe timeouts (Orleans: four). With the CPU
    /// saturated by training the probes ran at the maximum, so a cut link (probes time out instead of being refused) took
    /// 3.7–8.4 s to be declared with four; with two, 2.3 s. A 10-minute soak at 92 % CPU showed no suspicion with either.
    /// </summary>
    private TimeSpan MaxProbeTimeout => ProbeTimeout * 2;

    /// <summary>Sets the directory's range lease so that its hold after a death is <see cref="DirectoryHold"/> (nothing when not <see cref="Enabled"/>).</summary>
    public void ApplyTo(GrainDirectoryOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (!Enabled) return;
        // Orleans holds a dead silo's grains for the range lease less its failure-detection window (max probe × missed).
        o.RangeLeaseDuration = MaxProbeTimeout * MissedProbes + DirectoryHold;
    }
}
