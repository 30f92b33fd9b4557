using System.Collections.Concurrent;
using System.Security.Cryptography;
using Cluster.Agent.Local;
using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// The simulated cluster of `bench control-plane`: one real <see cref="NodeVoice"/> (the node agent's client code) per
/// simulated node, each speaking for nproc in-memory ranks (<see cref="SimulatedRank"/>), spread over a few client
/// connections to the silo's gateway. The voices join, fetch the peer table, beat and hold the directive call exactly as
/// on a real node; the simulated ranks post progress every beat, ask for a checkpoint and vote as <c>CoordinatedSteps</c> does.
/// </summary>
internal sealed class ControlPlaneMembers(IReadOnlyList<TimedJobGrain> connections, string jobId, string secret, int nodes, int nproc, TimeSpan beat)
{
    private readonly NodeVoice[] _voices = new NodeVoice[nodes];
    private readonly SimulatedRank[] _ranks = Enumerable.Range(0, nodes * nproc).Select(_ => new SimulatedRank()).ToArray();
    private readonly List<Task> _running = [];
    private long _step;
    private int _lost = -1;

    public int Count => _ranks.Length;

    /// <summary>
    /// Starts every node at once; returns seconds from the first join to the last rank's assignment, and the failures. The
    /// voices keep beating from then on (every <c>beat</c>) until <paramref name="stop"/> is cancelled.
    /// </summary>
    public async Task<(double Seconds, int Failed, string? FirstError, double[] Phases)> JoinAllAsync(TimeSpan timeout, CancellationToken stop)
    {
        var started = TimeProvider.System.GetTimestamp();
        double Since(Func<TimedJobGrain, long> stamp) =>
            connections.Max(stamp) is var last and > 0 ? TimeProvider.System.GetElapsedTime(started, last).TotalSeconds : double.NaN;
        double[] Phases() => [Since(c => c.LastJoin), Since(c => c.LastAssignment), Since(c => c.LastPeerTable)];
        for (var n = 0; n < nodes; n++)
        {
            var voice = new NodeVoice(connections[n % connections.Count], jobId, secret, nproc, new NodeVoiceOptions
            {
                NodeId = $"node-{n:D5}", HostId = $"host-{n}", AdvertiseHost = "127.0.0.1", BeatInterval = beat,
                RankSilentAfter = TimeSpan.FromSeconds(Math.Max(3, 3 * beat.TotalSeconds)),
                RendezvousTimeout = timeout, CoordinatorLostAfter = TimeSpan.FromSeconds(Math.Max(20, timeout.TotalSeconds)),
            }, NullLogger.Instance);
            _voices[n] = voice;
            for (var l = 0; l < nproc; l++) voice.Attach(l, 20000 + l, 100000 + n * nproc + l, _ranks[n * nproc + l]);
            _running.Add(Task.Run(() => voice.RunAsync(stop), CancellationToken.None));
            _running.Add(PostLoopAsync(n, stop));
        }
        var all = Task.WhenAll(_ranks.Select(r => r.Assignment.Task));
        var first = await Task.WhenAny(all, Task.WhenAny(_voices.Select(v => v.Ended))).WaitAsync(timeout, stop).ConfigureAwait(false);
        var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
        if (first == all) return (seconds, 0, null, Phases());
        var ended = _voices.Where(v => v.Ended.IsCompleted).Select(v => v.Ended.Result.Reason).FirstOrDefault();
        return (seconds, _ranks.Count(r => !r.Assignment.Task.IsCompleted), ended, Phases());
    }

    /// <summary>Bytes of peer table each node fetched, summed over nodes (the table is packed once per generation).</summary>
    public long PeerBytesHandedOut => connections.Sum(c => c.PeerTableBytes);

    /// <summary>Every simulated rank tells its voice it is alive with new progress every beat (one loop per node).</summary>
    private async Task PostLoopAsync(int node, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(beat);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var step = Interlocked.Increment(ref _step);
                for (var l = 0; l < nproc; l++)
                {
                    if (_ranks[node * nproc + l].Assignment.Task.IsCompleted)
                        _voices[node].Post(l, new ProgressReport(step, 0, 0, 1.0, 100));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { /* done */ }
    }

    /// <summary>
    /// One checkpoint round as the ranks run it: every rank asks to save at the same step (retrying while busy), rank 0
    /// writes a file into the directive's directory, every rank votes; returns seconds from the first request to the commit
    /// (seen through <paramref name="status"/>) and the checkpoint id.
    /// </summary>
    public async Task<(double Seconds, long CheckpointId)> CheckpointRoundAsync(IJobGrain status, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var step = Interlocked.Add(ref _step, 1_000_000);
        var started = TimeProvider.System.GetTimestamp();
        var deadline = started + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        var directives = new CheckpointDirective?[Count];
        await Task.WhenAll(Enumerable.Range(0, Count).Select(i => Task.Run(async () =>
        {
            var (voice, local) = (_voices[i / nproc], i % nproc);
            var rank = _ranks[i].Assignment.Task.Result.Rank;
            while (directives[i] is null)
            {
                var reply = await voice.RequestAsync(local, new ProgressReport(step, 0, 0, 1.0, 100, CheckpointRequestKind.Save), cancellationToken)
                    .WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                if (reply.Checkpoint is { } d && d.Step == step) { directives[i] = d; break; }
                if (reply.Directive != ControlDirective.Continue) throw new InvalidOperationException($"rank {rank}: {reply.Directive} {reply.Reason}");
                if (TimeProvider.System.GetTimestamp() > deadline) throw new TimeoutException($"rank {rank} got no checkpoint directive for step {step} within {timeout}");
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
            IReadOnlyList<CheckpointFile> files = [];
            if (rank == 0)
            {
                Directory.CreateDirectory(directives[i]!.Directory);
                byte[] bytes = [1, 2, 3, 4];
                await File.WriteAllBytesAsync(Path.Combine(directives[i]!.Directory, "model.bin"), bytes, cancellationToken).ConfigureAwait(false);
                files = [new CheckpointFile("model.bin", bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)))];
            }
            await voice.VoteAsync(local, new CheckpointVote(directives[i]!.CheckpointId, 0, 0, files, null), cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }, cancellationToken))).ConfigureAwait(false);
        var id = directives[0]!.CheckpointId;
        while ((await status.GetStatus().WaitAsync(timeout, cancellationToken).ConfigureAwait(false)).LastCommittedCheckpoint?.CheckpointId != id)
        {
            if (TimeProvider.System.GetTimestamp() > deadline) throw new TimeoutException($"checkpoint {id} was not committed within {timeout}");
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
        return (TimeProvider.System.GetElapsedTime(started).TotalSeconds, id);
    }

    /// <summary>Milliseconds from <paramref name="since"/> until each live rank received a pushed directive (NaN: not within the timeout).</summary>
    public async Task<double[]> DirectiveTimesAsync(long since, TimeSpan timeout)
    {
        var live = _ranks.Where((_, i) => i != _lost).ToList();
        try { await Task.WhenAll(live.Select(r => r.Directive.Task)).WaitAsync(timeout).ConfigureAwait(false); }
        catch (TimeoutException) { /* reported as missed */ }
        return live.Select(r => r.Directive.Task.IsCompleted
            ? TimeProvider.System.GetElapsedTime(since, r.Directive.Task.Result).TotalMilliseconds : double.NaN).ToArray();
    }

    /// <summary>
    /// A recovery event: the last node's local rank 0 "dies" (its voice reports exit code 137, as the agent does after a
    /// kill -9). Returns the milliseconds until each surviving rank heard the regroup, the seconds until every survivor
    /// held its assignment of the next generation, and how many survivors missed either within the timeout.
    /// </summary>
    public async Task<(double[] RegroupMs, double FormedSeconds, int Missed)> RecoveryAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var node = nodes - 1;
        _lost = node * nproc;
        var started = TimeProvider.System.GetTimestamp();
        await _voices[node].ReportExitAsync(0, 137, "bench control-plane: a simulated kill -9", cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        var survivors = _ranks.Where((_, i) => i != _lost).ToList();
        try { await Task.WhenAll(survivors.Select(r => r.Reassigned.Task)).WaitAsync(timeout, cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException) { /* reported as missed */ }
        double Ms(TaskCompletionSource<long> t) => t.Task.IsCompleted ? TimeProvider.System.GetElapsedTime(started, t.Task.Result).TotalMilliseconds : double.NaN;
        var heard = survivors.Select(r => Ms(r.Regrouped)).ToArray();
        var formed = survivors.Select(r => Ms(r.Reassigned)).ToArray();
        var missed = survivors.Count(r => !r.Regrouped.Task.IsCompleted || !r.Reassigned.Task.IsCompleted);
        return (heard, missed == 0 ? formed.Max() / 1000 : double.NaN, missed);
    }

    /// <summary>Waits for the voices to stop after the directive or <c>stop</c>.</summary>
    public async Task StopAsync()
    {
        try { await Task.WhenAll(_running).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException) { /* leftovers end with the process */ }
    }

    /// <summary>An in-memory rank: records when its assignments, the regroup and its first other directive arrived.</summary>
    private sealed class SimulatedRank : IRankOutbox
    {
        public TaskCompletionSource<RankAssignment> Assignment { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<long> Directive { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<long> Regrouped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<long> Reassigned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task SendAsync(LocalMessage message, CancellationToken cancellationToken)
        {
            var now = TimeProvider.System.GetTimestamp();
            switch (message)
            {
                case LocalMessage.Assigned when Assignment.Task.IsCompleted: Reassigned.TrySetResult(now); break;
                case LocalMessage.Assigned a: Assignment.TrySetResult(a.Assignment); break;
                case LocalMessage.Directive { Answer.Directive: ControlDirective.Regroup }: Regrouped.TrySetResult(now); break;
                case LocalMessage.Directive: Directive.TrySetResult(now); break;
            }
            return Task.CompletedTask;
        }
    }
}
