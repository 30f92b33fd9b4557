using System.Collections.Concurrent;
using System.Security.Cryptography;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// The simulated ranks of `bench control-plane`: nodes × nproc members that call the real job grain the way today's
/// ranks do (one Orleans call per rank: <see cref="RendezvousClient.JoinAndWaitAsync"/>, a progress report every beat as
/// <c>RankSession</c> sends it, the checkpoint request and ack of <c>CoordinatedSteps</c>), spread over a few client
/// connections to the silo's gateway.
/// </summary>
internal sealed class ControlPlaneMembers(IReadOnlyList<IJobGrain> connections, string jobId, string secret, int nodes, int nproc)
{
    private readonly RankAssignment?[] _assignments = new RankAssignment?[nodes * nproc];
    private long _step;

    public int Count => _assignments.Length;

    private static string NodeOf(int member, int nproc) => $"node-{member / nproc}";

    private string MemberOf(int member) => MemberIds.Of(NodeOf(member, nproc), member % nproc);

    private IJobGrain GrainOf(int member) => connections[member / nproc % connections.Count];

    private static double Ms(long since) => TimeProvider.System.GetElapsedTime(since).TotalMilliseconds;

    /// <summary>
    /// Every member joins at once; returns seconds from the first join to the last assignment and the failures. As a real
    /// rank does, a member starts beating (every <paramref name="beat"/>) as soon as it has its assignment, here until all
    /// members have theirs, so the first ranks' leases do not lapse while the last ones are still being assigned.
    /// </summary>
    public async Task<(double Seconds, int Failed, string? FirstError)> JoinAllAsync(TimeSpan timeout, TimeSpan beat, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        var errors = new ConcurrentQueue<string>();
        using var assigned = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var keepAlive = new ConcurrentBag<Task>();
        await Task.WhenAll(Enumerable.Range(0, Count).Select(i => Task.Run(async () =>
        {
            var node = NodeOf(i, nproc);
            var local = i % nproc;
            var request = new JoinRequest(node, $"host-{i / nproc}", "127.0.0.1", 20000 + local, 100000 + i, local, JoinProof.Compute(secret, jobId, node, local));
            try
            {
                _assignments[i] = await RendezvousClient.JoinAndWaitAsync(GrainOf(i), jobId, request, timeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
                keepAlive.Add(KeepAliveAsync(i, beat, assigned.Token));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested) { errors.Enqueue($"{e.GetType().Name}: {e.Message}"); }
        }, cancellationToken))).ConfigureAwait(false);
        var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
        await assigned.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(keepAlive).ConfigureAwait(false);
        var first = errors.TryPeek(out var error) ? error : null;
        return (seconds, errors.Count, first);
    }

    private async Task KeepAliveAsync(int i, TimeSpan beat, CancellationToken stop)
    {
        var a = _assignments[i]!;
        using var timer = new PeriodicTimer(beat);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                try { await GrainOf(i).Heartbeat(new Heartbeat(MemberOf(i), a.Generation, a.FencingToken)).WaitAsync(TimeSpan.FromSeconds(30), stop).ConfigureAwait(false); }
                catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException) { /* as RankSession: logged there, retried next beat */ }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { /* everyone is assigned */ }
    }

    /// <summary>Peer-table entries in all assignments together: each assignment carries the generation's whole table today.</summary>
    public long PeerEntriesHandedOut => _assignments.Sum(a => (long)(a?.Peers.Count ?? 0));

    /// <summary>
    /// Every assigned member reports progress every <paramref name="beat"/> (first beats spread over one interval) until
    /// <paramref name="duration"/> has passed, or, with <paramref name="untilDirective"/>, until its reply is not Continue.
    /// Returns the call latencies (ms), calls that failed, and per member the time its first non-Continue reply came.
    /// </summary>
    public async Task<(List<double> Latencies, int Errors, double[] DirectiveAt)> BeatAsync(TimeSpan beat, TimeSpan duration, bool untilDirective,
        long directiveSince, CancellationToken cancellationToken)
    {
        var latencies = new ConcurrentBag<double[]>();
        var directiveAt = Enumerable.Repeat(double.NaN, Count).ToArray();
        var errors = 0;
        var started = TimeProvider.System.GetTimestamp();
        var step = Interlocked.Add(ref _step, 1_000);
        await Task.WhenAll(Enumerable.Range(0, Count).Where(i => _assignments[i] is not null).Select(i => Task.Run(async () =>
        {
            var a = _assignments[i]!;
            var mine = new List<double>();
            await Task.Delay(beat * (i / (double)Count), cancellationToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(beat);
            var s = step;
            do
            {
                var callStart = TimeProvider.System.GetTimestamp();
                try
                {
                    var reply = await GrainOf(i).ReportProgress(new ProgressReport(MemberOf(i), a.Generation, a.FencingToken, ++s, 0, 0, 1.0, 100))
                        .WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                    mine.Add(Ms(callStart));
                    if (untilDirective && reply.Directive != ControlDirective.Continue)
                    {
                        directiveAt[i] = Ms(directiveSince);
                        break;
                    }
                }
                catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException) { Interlocked.Increment(ref errors); }
            }
            while (TimeProvider.System.GetElapsedTime(started) < duration && await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
            latencies.Add([.. mine]);
        }, cancellationToken))).ConfigureAwait(false);
        return (latencies.SelectMany(l => l).ToList(), errors, directiveAt);
    }

    /// <summary>
    /// One checkpoint round as the ranks run it: every member asks to save at the same step (retrying while busy), rank 0
    /// writes a file into the directive's directory, every member acks; returns seconds from the first request to the
    /// commit (seen through <paramref name="status"/>) and the checkpoint id.
    /// </summary>
    public async Task<(double Seconds, long CheckpointId)> CheckpointRoundAsync(IJobGrain status, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var step = Interlocked.Add(ref _step, 1_000_000);
        var started = TimeProvider.System.GetTimestamp();
        var deadline = started + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        var directives = new CheckpointDirective?[Count];
        await Task.WhenAll(Enumerable.Range(0, Count).Select(i => Task.Run(async () =>
        {
            var a = _assignments[i]!;
            while (directives[i] is null)
            {
                var reply = await GrainOf(i).ReportProgress(new ProgressReport(MemberOf(i), a.Generation, a.FencingToken, step, 0, 0, 1.0, 100, CheckpointRequestKind.Save))
                    .WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                if (reply.Checkpoint is { } d && d.Step == step) { directives[i] = d; break; }
                if (reply.Directive != ControlDirective.Continue) throw new InvalidOperationException($"{MemberOf(i)}: {reply.Directive} {reply.Reason}");
                if (TimeProvider.System.GetTimestamp() > deadline) throw new TimeoutException($"{MemberOf(i)} got no checkpoint directive for step {step} within {timeout}");
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
            IReadOnlyList<CheckpointFile> files = [];
            if (a.Rank == 0)
            {
                Directory.CreateDirectory(directives[i]!.Directory);
                byte[] bytes = [1, 2, 3, 4];
                await File.WriteAllBytesAsync(Path.Combine(directives[i]!.Directory, "model.bin"), bytes, cancellationToken).ConfigureAwait(false);
                files = [new CheckpointFile("model.bin", bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)))];
            }
            await GrainOf(i).AckCheckpoint(new CheckpointAck(MemberOf(i), a.Generation, a.FencingToken, directives[i]!.CheckpointId, a.Rank, 0, 0, files, null))
                .WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }, cancellationToken))).ConfigureAwait(false);
        var id = directives[0]!.CheckpointId;
        while ((await status.GetStatus().WaitAsync(timeout, cancellationToken).ConfigureAwait(false)).LastCommittedCheckpoint?.CheckpointId != id)
        {
            if (TimeProvider.System.GetTimestamp() > deadline) throw new TimeoutException($"checkpoint {id} was not committed within {timeout}");
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
        return (TimeProvider.System.GetElapsedTime(started).TotalSeconds, id);
    }
}
