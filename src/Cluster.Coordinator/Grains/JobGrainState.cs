using System.Text.Json.Serialization;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// Persisted part of a job (written only when it changes): spec, secret, lifecycle state, the generation (one entry per
/// node, <see cref="GenerationRecord"/>), checkpoint consensus. Leases, progress, waiting members and collective ports are
/// in memory only.
/// </summary>
[GenerateSerializer]
public sealed class JobGrainState
{
    /// <summary>Null until submitted.</summary>
    [Id(0)] public JobSpecSummary? Spec { get; set; }

    /// <summary>32 random bytes, base64; generated on submit.</summary>
    [Id(1)] public string? SecretBase64 { get; set; }

    /// <summary>Lifecycle state.</summary>
    [Id(2)] public JobState State { get; set; } = JobState.Pending;

    /// <summary>
    /// The whole rendezvous with every member, as builds before the node-level control plane wrote it; read once on
    /// activation, turned into <see cref="Generation"/> and cleared. Never written by this build.
    /// </summary>
    [Id(3)] public RendezvousState? Rendezvous { get; set; }

    /// <summary>Open and committed checkpoints.</summary>
    [Id(4)] public CheckpointState Checkpoints { get; set; } = CheckpointState.Empty;

    /// <summary>Why the job failed or was cancelled.</summary>
    [Id(5)] public string? FailureReason { get; set; }

    /// <summary>Why the last checkpoint was aborted, if it was.</summary>
    [Id(6)] public string? LastCheckpointError { get; set; }

    /// <summary>Where the job's training starts, found on disk at submit ("resuming from checkpoint 7 at step 2,000", ...).</summary>
    [Id(7)] public string? RestoreNote { get; set; }

    /// <summary>The last generation started and its nodes (null before the first).</summary>
    [Id(8)] public GenerationRecord? Generation { get; set; }

    /// <summary>The elastic recoveries of the job, oldest first (each one a restart of the budget).</summary>
    [Id(9)] public List<RecoveryRecord> Recoveries { get; set; } = [];

    /// <summary>Every rank failure so far, oldest first (at most <see cref="RecoveryDecider.MaxFailuresKept"/>).</summary>
    [Id(10)] public List<string> Failures { get; set; } = [];

    /// <summary>The nodes whose ranks were lost, and when, oldest first (at most <see cref="JobGrain.MaxNodeLossesKept"/>): probation.</summary>
    [Id(11)] public List<NodeLoss> NodeLosses { get; set; } = [];

    /// <summary>The worker count set with `cluster scale` (null: <c>workers.max</c>).</summary>
    [Id(12)] public int? TargetWorkers { get; set; }

    /// <summary>True once submitted.</summary>
    [JsonIgnore] public bool Exists => Spec is not null;
}
