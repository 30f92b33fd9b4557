using Orleans.Concurrency;

namespace Cluster.Coordinator.Contracts;

/// <summary>
/// One training job (grain key: job id). Holds the lifecycle, the rendezvous, rank leases, the epoch plan
/// and the checkpoint consensus. Rank calls carry (generation, fencing token); stale ones get
/// <see cref="ControlDirective.Fenced"/>.
/// </summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job (idempotent for an identical spec) and returns its secret.</summary>
    Task<SubmitResult> Submit(JobSpecSummary spec);

    /// <summary>Adds a member to the rendezvous; refused on a wrong proof or a closed rendezvous.</summary>
    Task<JoinResult> Join(JoinRequest request);

    /// <summary>
    /// Long-poll for the member's assignment; returns <see cref="AssignmentStatus.Timeout"/> after at most
    /// <paramref name="maxWait"/> (capped below the Orleans response timeout). Callers re-poll.
    /// </summary>
    [AlwaysInterleave]
    Task<AssignmentResult> WaitForAssignment(string memberId, TimeSpan maxWait);

    /// <summary>Renews the caller's lease.</summary>
    Task<ControlReply> Heartbeat(Heartbeat heartbeat);

    /// <summary>Records progress (renews the lease); may open a checkpoint at a step boundary.</summary>
    Task<ControlReply> ReportProgress(ProgressReport report);

    /// <summary>Phase-one vote for an open checkpoint.</summary>
    Task<ControlReply> AckCheckpoint(CheckpointAck ack);

    /// <summary>A rank process exited (0 = finished).</summary>
    Task<ControlReply> ReportExit(ProcessExitReport report);

    /// <summary>Cancels a non-terminal job.</summary>
    Task<JobStatus> Cancel(string reason);

    /// <summary>Current snapshot; a job never submitted reports <see cref="JobState.Pending"/> with reason "not submitted".</summary>
    [AlwaysInterleave]
    Task<JobStatus> GetStatus();

    /// <summary>The newest committed checkpoint (the only kind offered for restore), or null.</summary>
    Task<CheckpointManifest?> GetLatestCheckpoint();
}
