using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Cluster.Agent.Grains;
using Cluster.Agent.Local;
using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Node;

/// <summary>
/// The node agent: polls the job directory, starts <c>nprocPerNode</c> rank processes for every job that is waiting for
/// workers and is the node's voice for them (<see cref="NodeVoice"/>: one join, one beat per interval, directives pushed to
/// the ranks over the authenticated local channel), writes each rank's output to a log file, reports every rank exit to
/// the job grain at once, restarts a failed rank while the job goes on (spec <c>restart</c>: backoff, budget per node; the
/// coordinator admits the new process), and kills its ranks' process trees when the job fails or is cancelled, or when
/// the agent stops.
/// </summary>
public sealed partial class NodeAgent(NodeAgentOptions options, IGrainFactory grains, Orleans.Runtime.ILocalSiloDetails silo, ILogger<NodeAgent> logger) : BackgroundService
{
    private readonly NodeAgentOptions _options = options.Validated();
    private readonly ConcurrentDictionary<string, AgentJob> _jobs = new();
    private readonly HashSet<string> _ignored = [];
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Jobs that refused this node's admission while running, and when (Stopwatch timestamp) the agent may try again.</summary>
    private readonly ConcurrentDictionary<string, long> _retryAt = new();

    /// <summary>How long an agent waits before it asks a running job that refused it once more (no loop of rank starts).</summary>
    public static readonly TimeSpan RetryAfterRefusal = TimeSpan.FromSeconds(20);

    /// <summary>How long a released spare has to exit on its own before it is killed.</summary>
    private static readonly TimeSpan SpareExitGrace = TimeSpan.FromSeconds(5);

    /// <summary>Ranks currently alive on this node (for tests and status).</summary>
    public int LiveRanks => _jobs.Values.Sum(j => j.Ranks.Count(r => !r.Exited.IsCompleted));

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(_options.NodeId, _options.NprocPerNode, _options.LogsDirectory);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RegisterLogsAsync(stoppingToken).ConfigureAwait(false);
                    await TickAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogTickFailed(e.Message);
                }
                await Task.Delay(_options.PollInterval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false); // no more ticks
        await DrainAsync(cancellationToken).ConfigureAwait(false); // the voices still speak for the ranks while they leave
        await _stopping.CancelAsync().ConfigureAwait(false);
        // Spares hold no place and no state: they are told to go and exit on their own (bounded); every other rank is killed.
        var spares = new List<RankProcess>();
        foreach (var job in _jobs.Values)
        {
            var locals = job.Voice.Spares;
            if (locals.Count > 0) await job.Voice.ReleaseSparesAsync($"node agent {_options.NodeId} stops").ConfigureAwait(false);
            foreach (var rank in job.Ranks)
            {
                if (locals.Contains(rank.LocalRank) && !rank.Exited.IsCompleted) spares.Add(rank);
                else rank.Kill();
            }
        }
        try { await Task.WhenAll(spares.Select(r => r.Exited)).WaitAsync(SpareExitGrace, cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException) { /* killed below */ }
        foreach (var rank in spares) rank.Kill();
        var exits = _jobs.Values.SelectMany(j => j.Ranks).Select(r => r.Exited).ToArray();
        try { await Task.WhenAll(exits).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException) { LogStopTimeout(exits.Count(t => !t.IsCompleted)); }
        foreach (var rank in _jobs.Values.SelectMany(j => j.Ranks)) rank.Dispose();
        foreach (var job in _jobs.Values) await job.Channel.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var directory = grains.GetGrain<IJobDirectoryGrain>(JobDirectory.Key);
        foreach (var spec in await directory.List().WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_jobs.ContainsKey(spec.JobId) || _ignored.Contains(spec.JobId)) continue;
            if (_retryAt.TryGetValue(spec.JobId, out var retryAt) && Stopwatch.GetTimestamp() < retryAt) continue;
            var job = grains.GetGrain<IJobGrain>(spec.JobId);
            var status = await job.GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false);
            // A running job takes a node that comes later too (scale up, a replacement after a node loss): its join is an
            // admission at the next step boundary, or a spare when the generation is full.
            if (status.State is not (JobState.Pending or JobState.Rendezvous or JobState.Running or JobState.Checkpointing or JobState.Recovering))
            {
                _ignored.Add(spec.JobId);
                continue;
            }
            // Scaled down (`cluster scale`): no new node while the job holds as many as it was asked for.
            if (status.TargetWorkers is { } target && status.State is not (JobState.Pending or JobState.Rendezvous)
                && status.Ranks.Select(r => r.NodeId).Distinct(StringComparer.Ordinal).Count() >= target) continue;
            if (spec.NprocPerNode > _options.NprocPerNode)
            {
                LogTooWide(spec.JobId, spec.NprocPerNode, _options.NprocPerNode);
                _ignored.Add(spec.JobId);
                continue;
            }
            // Submit is idempotent for the identical spec and hands back the job secret.
            var secret = (await job.Submit(spec).WaitAsync(cancellationToken).ConfigureAwait(false)).JobSecretBase64;
            Launch(spec, secret);
        }
        foreach (var agentJob in _jobs.Values)
        {
            if (agentJob.Ranks.Count > 0 && agentJob.AllExited)
            {
                await agentJob.Channel.DisposeAsync().ConfigureAwait(false); // the job is over on this node: its socket goes
                // Every rank gone, and the job waits for workers again (it lost every rank and restarts from its newest
                // committed checkpoint): forget it here, so the next tick starts it over on this node.
                if (!agentJob.Settled && agentJob.Voice.Ended is { IsCompletedSuccessfully: true, Result.Released: true })
                {
                    // The node left the job (scaled down, drained): forget it, so a later scale-up may take this node again.
                    LogLeft(agentJob.JobId, _options.NodeId);
                    _jobs.TryRemove(agentJob.JobId, out _);
                }
                else if (!agentJob.Settled && agentJob.Voice.Ended.IsCompleted)
                {
                    var state = (await grains.GetGrain<IJobGrain>(agentJob.JobId).GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false)).State;
                    if (state is JobState.Pending or JobState.Rendezvous)
                    {
                        LogStartingOver(agentJob.JobId);
                        _jobs.TryRemove(agentJob.JobId, out _);
                    }
                    else if (state.IsTerminal()) agentJob.Settled = true;
                    else if (agentJob.Voice.Generation is null)
                    {
                        // Never admitted into the running job (another agent took the last place up to its target): forget
                        // it, and try again once the back-off passed, if the job then has room.
                        LogNotAdmitted(agentJob.JobId, _options.NodeId, RetryAfterRefusal.TotalSeconds);
                        _retryAt[agentJob.JobId] = Stopwatch.GetTimestamp() + (long)(RetryAfterRefusal.TotalSeconds * Stopwatch.Frequency);
                        _jobs.TryRemove(agentJob.JobId, out _);
                    }
                }
                continue;
            }
            foreach (var local in agentJob.Voice.TakeHung())
            {
                foreach (var rank in agentJob.Ranks.Where(r => r.LocalRank == local && !r.Exited.IsCompleted))
                {
                    LogKillingHung(agentJob.JobId, rank.MemberId, rank.Pid);
                    rank.Kill(); // its exit is reported and it is restarted like any failed rank
                }
            }
            if (agentJob.Voice.Generation is { } generation)
            {
                LinkRankLogs(agentJob, generation);
                // A rank left out of the current generation (its lease lapsed: hung or cut off) is not coming back (it is
                // replaced); a replacement started in this generation waits for its admission into the next.
                var spares = agentJob.Voice.Spares;
                foreach (var rank in agentJob.Ranks.Where(r => !r.Exited.IsCompleted && r.StartedInGeneration < generation.Assignment.Generation
                    && generation.Assignment.Slots.All(s => s.LocalRank != r.LocalRank) && !spares.Contains(r.LocalRank)))
                {
                    LogDropped(agentJob.JobId, rank.MemberId, generation.Assignment.Generation);
                    rank.Kill();
                }
                if (spares.Count > 0 && !agentJob.Ended && Finished(agentJob, generation))
                {
                    // The node's ranks of the generation finished (exit 0): the job is over, its spares go without a restart.
                    agentJob.Ended = true;
                    agentJob.ToldToGoAt = Stopwatch.GetTimestamp();
                    var told = await agentJob.Voice.ReleaseSparesAsync($"the job's ranks on node {_options.NodeId} finished").ConfigureAwait(false);
                    LogSparesReleased(agentJob.JobId, told, generation.Assignment.Generation);
                }
            }
            if (agentJob.Voice.Ended.IsCompletedSuccessfully && !agentJob.Ended)
            {
                // The voice ended: the job failed or was cancelled, this node was fenced, or the coordinator is lost.
                agentJob.Ended = true;
                var why = agentJob.Voice.Ended.Result;
                if (why.Released) agentJob.ToldToGoAt = Stopwatch.GetTimestamp(); // the node left the job: its ranks exit 0 on their own
                else
                {
                    LogKilling(agentJob.JobId, why.Directive, why.Reason ?? "");
                    await StopRanksAsync(agentJob, why.Reason ?? why.Directive.ToString()).ConfigureAwait(false);
                }
            }
            if (agentJob.ToldToGoAt is { } released && Stopwatch.GetElapsedTime(released) > SpareExitGrace)
            {
                foreach (var rank in agentJob.Ranks.Where(r => !r.Exited.IsCompleted)) rank.Kill(); // told to go and still here
                agentJob.ToldToGoAt = null;
            }
        }
    }

    private void Launch(JobSpecSummary spec, string secret)
    {
        if (_jobs.ContainsKey(spec.JobId)) return;
        var voice = new NodeVoice(grains.GetGrain<IJobGrain>(spec.JobId), spec.JobId, secret, spec.NprocPerNode, new NodeVoiceOptions
        {
            NodeId = _options.NodeId, HostId = _options.HostId, AdvertiseHost = _options.AdvertiseHost, BeatInterval = _options.BeatInterval,
            RankSilentAfter = TimeSpan.FromSeconds(Math.Max(3, 3 * _options.BeatInterval.TotalSeconds)),
            Silo = silo.SiloAddress.ToParsableString(),
        }, logger);
        var socket = Path.Combine(_options.SocketDirectory, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(spec.JobId)))[..16] + ".sock");
        var channel = new LocalChannelServer(socket, voice, spec.JobId, _options.NodeId, secret, spec.NprocPerNode, logger, spec.SpecYaml,
            grains.GetGrain<IJobReportGrain>(spec.JobId));
        var restart = RestartOf(spec);
        var agentJob = new AgentJob(spec.JobId, voice, channel, spec.RestartBudget, TimeSpan.FromSeconds(restart.BackoffSeconds), TimeSpan.FromMinutes(restart.WindowMinutes));
        if (!_jobs.TryAdd(spec.JobId, agentJob)) return;
        LogChannel(spec.JobId, _options.NodeId, socket);
        _ = RunVoiceAsync(agentJob);
        for (var local = 0; local < spec.NprocPerNode; local++)
        {
            var rankLocal = local;
            var first = StartRank(agentJob, spec, secret, socket, local, generation: 0);
            _ = SuperviseAsync(agentJob, first, () => StartRank(agentJob, spec, secret, socket, rankLocal, agentJob.Voice.Generation?.Assignment.Generation ?? 0));
        }
    }

    private static Cluster.Abstractions.RestartSpec RestartOf(JobSpecSummary spec)
    {
        try { return Cluster.Abstractions.JobSpecLoader.Parse(spec.SpecYaml, $"job {spec.JobId}").Restart; }
        catch (Cluster.Abstractions.JobSpecException) { return new Cluster.Abstractions.RestartSpec(); } // the coordinator accepted it; a newer field this agent does not know
    }

    /// <summary>Starts local rank <paramref name="local"/>; <paramref name="generation"/>: the node's generation at the start (0 before the first).</summary>
    private RankProcess StartRank(AgentJob agentJob, JobSpecSummary spec, string secret, string socket, int local, long generation)
    {
        var threads = Math.Max(1, Environment.ProcessorCount / spec.NprocPerNode);
        var info = new ProcessStartInfo(_options.WorkerCommand[0]);
        foreach (var argument in _options.WorkerCommand.Skip(1)) info.ArgumentList.Add(argument);
        var env = info.Environment;
        env[WorkerEnvironment.JobId] = spec.JobId;
        env[WorkerEnvironment.JobSecret] = secret;
        env[WorkerEnvironment.NodeId] = _options.NodeId;
        env[WorkerEnvironment.LocalRank] = local.ToString(CultureInfo.InvariantCulture);
        env[AgentEnvironment.AgentSocket] = socket;
        env[AgentEnvironment.AdvertiseHost] = _options.AdvertiseHost;
        env[AgentEnvironment.HostId] = _options.HostId;
        env[AgentEnvironment.Threads] = threads.ToString(CultureInfo.InvariantCulture);
        env[AgentEnvironment.HeartbeatMilliseconds] = ((int)_options.BeatInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        global::Cluster.Training.Engine.RankMallocSettings.ApplyTo(env);
        foreach (var (key, value) in _options.ExtraEnvironment) env[key] = value;
        var memberId = MemberIds.Of(_options.NodeId, local);
        var logPath = RankLogs.MemberLog(_options.LogsDirectory, spec.JobId, _options.NodeId, local);
        var rank = RankProcess.Start(info, spec.JobId, memberId, local, logPath, generation);
        agentJob.Add(rank);
        LogLaunched(spec.JobId, memberId, rank.Pid, logPath);
        return rank;
    }

    private async Task RunVoiceAsync(AgentJob agentJob)
    {
        try { await agentJob.Voice.RunAsync(_stopping.Token).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            LogVoiceFailed(agentJob.JobId, e.Message);
        }
    }

    /// <summary>
    /// The job ended on this node: its ranks are killed, except spares (no place, no state), which are told to go and exit
    /// on their own; one still alive after <see cref="SpareExitGrace"/> is killed by the tick.
    /// </summary>
    private static async Task StopRanksAsync(AgentJob agentJob, string reason)
    {
        var spares = agentJob.Voice.Spares;
        if (spares.Count > 0)
        {
            agentJob.ToldToGoAt ??= Stopwatch.GetTimestamp();
            await agentJob.Voice.ReleaseSparesAsync(reason).ConfigureAwait(false);
        }
        foreach (var rank in agentJob.Ranks.Where(r => !spares.Contains(r.LocalRank))) rank.Kill();
    }

    /// <summary>Every local rank of <paramref name="generation"/> on this node ran to the end (its newest process exited with 0).</summary>
    private static bool Finished(AgentJob agentJob, NodeGeneration generation) =>
        generation.Assignment.Slots.Count > 0 && generation.Assignment.Slots.All(s =>
            agentJob.Ranks.LastOrDefault(r => r.LocalRank == s.LocalRank) is { Exited.IsCompletedSuccessfully: true } p && p.Exited.Result == 0);

    /// <summary>
    /// The job goes on on this node: not ended, and the node is in a generation, or has not joined yet (a rank that died
    /// before every local rank attached is started again and takes its place in the join).
    /// </summary>
    private static bool GoesOn(AgentJob agentJob) =>
        !agentJob.Ended && !agentJob.Voice.Ended.IsCompleted && (agentJob.Voice.Generation is not null || !agentJob.Voice.Joined);

    private static string Signal(int code) => code > 128 && code < 160 ? $" killed by signal {code - 128}" : "";

    private void LinkRankLogs(AgentJob agentJob, NodeGeneration generation)
    {
        foreach (var slot in generation.Assignment.Slots)
        {
            var memberId = MemberIds.Of(_options.NodeId, slot.LocalRank);
            if (agentJob.Linked.TryGetValue(memberId, out var linked) && linked == slot.Rank) continue;
            agentJob.Linked[memberId] = slot.Rank;
            var local = agentJob.Ranks.FirstOrDefault(r => r.MemberId == memberId);
            if (local is null) continue;
            RankLogs.Link(_options.LogsDirectory, agentJob.JobId, slot.Rank, local.LogPath);
        }
    }
}
