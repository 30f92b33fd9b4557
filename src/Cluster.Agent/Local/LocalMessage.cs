using Cluster.Coordinator.Contracts;
using MessagePack;

namespace Cluster.Agent.Local;

/// <summary>
/// Messages of the local channel between a rank process and its node agent (a Unix domain socket, one per job and node).
/// MessagePack, one message per length-prefixed frame (<see cref="LocalFrames"/>).
/// </summary>
[Union(0, typeof(Challenge))]
[Union(1, typeof(Hello))]
[Union(2, typeof(Welcome))]
[Union(3, typeof(Assigned))]
[Union(4, typeof(Posted))]
[Union(5, typeof(Request))]
[Union(6, typeof(Vote))]
[Union(7, typeof(Reply))]
[Union(8, typeof(Directive))]
[Union(9, typeof(Refused))]
[Union(10, typeof(Ping))]
[Union(11, typeof(PlanReport))]
[Union(12, typeof(EpochReport))]
[Union(13, typeof(ResultReport))]
[Union(14, typeof(Standby))]
public abstract record LocalMessage
{
    /// <summary>Agent → rank, first frame: a fresh nonce the rank must prove the job secret over.</summary>
    public sealed record Challenge(byte[] Nonce) : LocalMessage;

    /// <summary>Rank → agent: who it is, where it listens, its proof over the agent's nonce and its own nonce for the agent.</summary>
    public sealed record Hello(string JobId, int LocalRank, int Pid, int Port, string Proof, byte[] Nonce) : LocalMessage;

    /// <summary>
    /// Agent → rank: the agent's proof over the rank's nonce (the rank checks it, so both ends know the secret) and the
    /// job's spec as submitted (the rank needs no coordinator connection of its own).
    /// </summary>
    public sealed record Welcome(string Proof, string SpecYaml) : LocalMessage;

    /// <summary>Agent → rank: its place in the generation.</summary>
    public sealed record Assigned(RankAssignment Assignment) : LocalMessage;

    // Rank → agent messages name the generation they are for: after a regroup at a step boundary a rank still trains (and
    // reports) in the old generation for a step while its agent is in the new one, which must not take them as its own.

    /// <summary>Rank → agent: newest progress (the agent sends the latest with the next beat; no reply).</summary>
    public sealed record Posted(ProgressReport Report, long Generation) : LocalMessage;

    /// <summary>Rank → agent: progress that asks something (a checkpoint at this step, the final report); answered by <see cref="Reply"/>.</summary>
    public sealed record Request(long Id, ProgressReport Report, long Generation) : LocalMessage;

    /// <summary>Rank → agent: a checkpoint vote; answered by <see cref="Reply"/>.</summary>
    public sealed record Vote(long Id, CheckpointVote Ballot, long Generation) : LocalMessage;

    /// <summary>Agent → rank: the coordinator's answer to request <see cref="Id"/>.</summary>
    public sealed record Reply(long Id, ControlReply Answer) : LocalMessage;

    /// <summary>Agent → rank, pushed: the generation is over for this rank (abort, fenced).</summary>
    public sealed record Directive(ControlReply Answer) : LocalMessage;

    /// <summary>Agent → rank: the rank is not taken (bad proof, not admitted, join refused); the agent closes the channel.</summary>
    public sealed record Refused(string Reason) : LocalMessage;

    /// <summary>
    /// Agent → rank: the rank waits as a spare outside the generation (<c>workers.maxRanks</c>): it keeps its process and
    /// waits for an assignment with no deadline (a loss takes it in; the job's end releases it with a <see cref="Directive"/>).
    /// </summary>
    public sealed record Standby(string Reason) : LocalMessage;

    /// <summary>Rank → agent: still alive (sent when there is no new progress in a beat).</summary>
    public sealed record Ping : LocalMessage;

    // The job report (rank 0 of the generation only; the agent forwards it to the job's report grain and answers Reply).

    /// <summary>Rank → agent: the planned optimizer steps and epochs.</summary>
    public sealed record PlanReport(long Id, long Generation, long TotalSteps, int Epochs) : LocalMessage;

    /// <summary>Rank → agent: an epoch finished.</summary>
    public sealed record EpochReport(long Id, long Generation, Grains.EpochSummary Epoch) : LocalMessage;

    /// <summary>Rank → agent: training finished.</summary>
    public sealed record ResultReport(long Id, long Generation, Grains.JobResult Result) : LocalMessage;
}
