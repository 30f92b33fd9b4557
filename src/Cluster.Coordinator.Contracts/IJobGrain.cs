using Orleans.Concurrency;

namespace Cluster.Coordinator.Contracts;

/// <summary>
/// One training job (grain key: job id). Holds the lifecycle, the rendezvous, rank leases, the epoch plan
/// and the checkpoint consensus. Node calls carry (generation, fencing token per rank); stale ones get
/// <see cref="ControlDirective.Fenced"/>.
/// </summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job (idempotent for an identical spec) and returns its secret.</summary>
    Task<SubmitResult> Submit(JobSpecSummary spec);

    /// <summary>
    /// Adds a node and all its local ranks to the rendezvous in one call; refused on a wrong proof or a closed rendezvous.
    /// The job grain hears from nodes, not ranks: joins, beats and votes are one call per node.
    /// </summary>
    Task<JoinResult> JoinNode(NodeJoinRequest request);

    /// <summary>
    /// Long-poll for the node's assignment; returns <see cref="AssignmentStatus.Timeout"/> after at most
    /// <paramref name="maxWait"/> (capped below the Orleans response timeout). Callers re-poll.
    /// </summary>
    [AlwaysInterleave]
    Task<NodeAssignmentResult> WaitForNodeAssignment(string nodeId, TimeSpan maxWait);

    /// <summary>The peer table of <paramref name="generation"/>, packed once per generation; only for a node of that generation.</summary>
    [AlwaysInterleave]
    Task<PeerTable> GetPeerTable(string nodeId, long generation);

    /// <summary>Renews the leases of the node's listed ranks, records their progress and votes; may open a checkpoint.</summary>
    Task<NodeBeatReply> Beat(NodeBeat beat);

    /// <summary>
    /// Held by each node agent of <paramref name="generation"/> (re-issued after at most <paramref name="maxWait"/>, capped
    /// below the Orleans response timeout): answers at once when the job fails or is cancelled, or the node is no longer in
    /// the active generation, so every node learns a directive within one call latency instead of at its next beat.
    /// Generation 0 stands for a node not assigned yet (starting its ranks, or in the rendezvous): it hears only that the
    /// job failed or was cancelled.
    /// Returns <see cref="ControlReply.Continue"/> on timeout (a completed job only answers at the deadline).
    /// </summary>
    [AlwaysInterleave]
    Task<ControlReply> WaitForDirective(string nodeId, long generation, TimeSpan maxWait);

    /// <summary>A rank process exited (0 = finished).</summary>
    Task<ControlReply> ReportExit(ProcessExitReport report);

    /// <summary>
    /// Sets the number of worker nodes the job runs with (<c>workers.min</c>..<c>workers.max</c>, else refused with the
    /// range). Fewer than now: the last nodes leave at the next step boundary; more: waiting spares, and agents that join
    /// later, are admitted at a step boundary. No step is lost or rolled back.
    /// </summary>
    Task<ScaleResult> Scale(int workers);

    /// <summary>
    /// A node agent that is stopping (SIGTERM) asks for its node to leave at the next step boundary (join proof of the
    /// node, and the generation it speaks for); refused when the others would be fewer than <c>workers.minRanks</c>.
    /// </summary>
    Task<ScaleResult> Drain(NodeDrainRequest request);

    /// <summary>Cancels a non-terminal job.</summary>
    Task<JobStatus> Cancel(string reason);

    /// <summary>Current snapshot; a job never submitted reports <see cref="JobState.Pending"/> with reason "not submitted".</summary>
    [AlwaysInterleave]
    Task<JobStatus> GetStatus();

    /// <summary>The newest committed checkpoint (the only kind offered for restore), or null.</summary>
    Task<CheckpointManifest?> GetLatestCheckpoint();
}
