using Cluster.Abstractions;
using Cluster.Agent.Local;
using Cluster.Collectives;
using Cluster.Coordinator.Contracts;
using Cluster.Training.Engine;

namespace Cluster.Agent.Rank;

/// <summary>
/// One rank of a coordinated job (`cluster worker --coordinated`): binds its collective listener, attaches to its node
/// agent over the local channel with a proof of the job secret (the agent joins the rendezvous for the whole node and
/// speaks for its ranks to the job grain), builds the communicator from the assigned peers, trains with background
/// progress, takes part in checkpoint consensus and exits non-zero when told to stop. When the coordinator regroups the
/// survivors of a lost rank, the rank keeps its process, data, model and optimizer: it aborts its communicator, takes
/// the next generation's assignment from its agent, builds a new communicator and goes on (<see cref="RankGeneration"/>).
/// It opens no coordinator connection: the spec comes with the agent's welcome, and rank 0's job report goes through the agent.
/// A rank host of one's own (`cluster run --rank-host`) may pass <paramref name="communicators"/>: it wraps each
/// generation's communicator (tracing, metrics, fault injection) before the trainer uses it.
/// </summary>
public sealed class CoordinatedRank(RankSettings settings, TextWriter output, TimeProvider? time = null,
    Func<ICommunicator, ICommunicator>? communicators = null)
{
    /// <summary>
    /// How long a rank whose collectives failed (a peer died) waits for the coordinator's word (a regroup: go on; anything
    /// else: stop) before it counts the failure as its own: a lapsed lease (5 s) plus a coordinator tick, with margin.
    /// </summary>
    public static readonly TimeSpan RegroupWait = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _writeLock = new();

    /// <summary>Runs the rank; returns a <see cref="RankExitCodes"/> value.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // Idle OpenMP threads sleep instead of spinning on cores the communicator and the other ranks need (a user's own
        // OMP_WAIT_POLICY wins); must precede the first TorchSharp call.
        OpenMpWaitPolicy.Apply("PASSIVE");
        TorchSharp.torch.set_num_threads(settings.Threads);
        using var listener = CommunicatorListener.Bind("0.0.0.0", 0);
        AgentLink link;
        try
        {
            link = await AgentLink.ConnectAsync(settings.AgentSocket, settings.JobId, settings.NodeId, settings.LocalRank, settings.JobSecretBase64,
                listener.Port, TimeSpan.FromSeconds(30), cancellationToken, reason => Log($"{settings.MemberId}: waits as a spare: {reason}")).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            Log($"not admitted: {e.Message}");
            return RankExitCodes.Refused;
        }
        await using var _ = link.ConfigureAwait(false);
        // The spec as submitted, from the agent's welcome: the rank opens no coordinator connection of its own.
        JobSpec spec;
        try { spec = JobSpecLoader.Parse(link.SpecYaml, $"job {settings.JobId}"); }
        catch (JobSpecException e)
        {
            Log(e.Message);
            return RankExitCodes.InvalidInput;
        }
        using var generations = new RankGeneration(spec, link, _time, Log,
            $"{settings.NodeId}-{settings.LocalRank}-{Environment.ProcessId}", communicators);
        var first = true;
        while (true)
        {
            RankAssignment assignment;
            try
            {
                assignment = await link.AssignmentAsync(settings.RendezvousTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (link.Standby is not null)
            {
                Log($"{settings.MemberId}: spare released: {e.Message}"); // it holds no place: nothing to restart or report
                return RankExitCodes.Success;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                Log(first ? $"not admitted: {e.Message}" : $"no assignment after the regroup: {e.Message}");
                return first ? RankExitCodes.Refused : RankExitCodes.Aborted;
            }
            first = false;
            Log($"{settings.MemberId}: rank {assignment.Rank} of {assignment.WorldSize}, generation {assignment.Generation}, listening on {settings.AdvertiseHost}:{listener.Port}");
            var outcome = await RunGenerationAsync(link, assignment, listener, generations, cancellationToken).ConfigureAwait(false);
            if (outcome is { } exitCode) return exitCode;
        }
    }

    /// <summary>One generation: null when the coordinator regrouped (the rank goes on), else the exit code.</summary>
    private async Task<int?> RunGenerationAsync(AgentLink link, RankAssignment assignment, CommunicatorListener listener, RankGeneration generations,
        CancellationToken cancellationToken)
    {
        await using var session = new RankSession(link, assignment, settings.HeartbeatInterval, Log, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Aborted);
        try
        {
            await generations.RunAsync(assignment, listener, session, linked.Token).ConfigureAwait(false);
            return RankExitCodes.Success;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (e is not TrainingDivergedException && !session.Spoke.IsCancellationRequested)
            {
                // The collectives failed first (a peer died), or a peer's vote ended the generation before this rank's agent
                // heard of it: the coordinator's word follows within a lease.
                try { await Task.Delay(RegroupWait, _time, session.Spoke).ConfigureAwait(false); }
                catch (OperationCanceledException) when (session.Spoke.IsCancellationRequested) { /* it spoke */ }
            }
            if (session is { Released: true, Regrouped: true })
            {
                Log($"rank {assignment.Rank} of generation {assignment.Generation}: {session.AbortReason}; left at the step boundary ({e.GetType().Name})");
                return RankExitCodes.Success;
            }
            if (session.Regrouped)
            {
                Log($"rank {assignment.Rank} of generation {assignment.Generation}: {session.AbortReason}; stopped at {e.GetType().Name}, keeps its state and goes on");
                return null;
            }
            if (session.Aborted.IsCancellationRequested)
            {
                Log($"rank {assignment.Rank} aborted by the coordinator ({session.AbortReason}); stopped at {e.GetType().Name}");
                return RankExitCodes.Aborted;
            }
            Log($"rank {assignment.Rank} failed: {e.GetType().Name}: {e.Message}");
            return RankExitCodes.Failure;
        }
    }

    private void Log(string line)
    {
        lock (_writeLock) output.WriteLine(line);
    }
}
