using System.Collections.Concurrent;
using Cluster.Agent.Local;
using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>
/// The node's voice against a scripted job grain (a fake, in addition to the real-silo tests: ClusterRunTests,
/// ClusterAgentsTests, the control-plane bench): one join for all ranks, one beat per interval listing every rank that
/// is heard, requests answered per rank, silent ranks left out without stopping the beats, a held directive pushed.
/// </summary>
public sealed class NodeVoiceTests
{
    private static readonly TimeSpan Beat = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task One_join_then_one_beat_per_interval_for_every_heard_rank_and_a_pushed_abort_reaches_them_all()
    {
        var job = new ScriptedJob();
        var voice = new NodeVoice(job, "j", Convert.ToBase64String(new byte[32]), 3,
            new NodeVoiceOptions { NodeId = "n0", HostId = "h", AdvertiseHost = "127.0.0.1", BeatInterval = Beat, RankSilentAfter = Beat * 3 }, NullLogger.Instance);
        var ranks = Enumerable.Range(0, 3).Select(_ => new Outbox()).ToArray();
        using var stop = new CancellationTokenSource(Deadline);
        for (var i = 0; i < 3; i++) voice.Attach(i, 29500 + i, 100 + i, ranks[i]);
        var run = voice.RunAsync(stop.Token);

        foreach (var r in ranks) await r.Assigned.Task.WaitAsync(Deadline);
        Assert.Equal(1, job.Joins);
        Assert.Equal([0, 1, 2], ranks.Select(r => r.Assigned.Task.Result.Rank));
        Assert.Equal([29500, 29501, 29502], ranks[0].Assigned.Task.Result.Peers.Select(p => p.Port));

        // Ranks 0 and 1 keep talking, rank 2 falls silent: beats go on and list only the ranks heard from.
        using var talk = new CancellationTokenSource();
        var talking = Task.Run(async () =>
        {
            for (var step = 1; !talk.IsCancellationRequested; step++)
            {
                voice.Post(0, new ProgressReport(step, 0, step, 1, 1));
                voice.Heard(1);
                await Task.Delay(Beat / 2);
            }
        });
        await job.WaitForAsync(b => b.Ranks.Count == 2, "a beat without the silent rank 2");
        var beatsBefore = job.Beats.Count;
        await job.WaitForAsync(_ => job.Beats.Count >= beatsBefore + 3, "three more beats");
        Assert.All(job.Beats.Skip(beatsBefore), b => Assert.Equal([0, 1], b.Ranks.Select(r => r.LocalRank)));
        Assert.All(job.Beats, b => Assert.True(b.Ranks.Count <= 3));

        // A checkpoint request goes out at once and its per-rank answer comes back to the asker.
        var reply = await voice.RequestAsync(1, new ProgressReport(7, 0, 7, 1, 1, CheckpointRequestKind.Save), stop.Token).WaitAsync(Deadline);
        Assert.Equal(7, reply.Checkpoint!.Step);

        // The held directive call answers: every rank, the silent one too, is told.
        job.Abort("job cancelled: test");
        foreach (var r in ranks) Assert.Contains("cancelled", (await r.Directive.Task.WaitAsync(Deadline)).Reason);
        Assert.Equal(ControlDirective.Abort, (await voice.Ended.WaitAsync(Deadline)).Directive);
        await talk.CancelAsync();
        await talking;
        await run.WaitAsync(Deadline);
    }

    private sealed class Outbox : IRankOutbox
    {
        public TaskCompletionSource<RankAssignment> Assigned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<ControlReply> Directive { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task SendAsync(LocalMessage message, CancellationToken cancellationToken)
        {
            if (message is LocalMessage.Assigned a) Assigned.TrySetResult(a.Assignment);
            if (message is LocalMessage.Directive d) Directive.TrySetResult(d.Answer);
            return Task.CompletedTask;
        }
    }

    /// <summary>A job grain that admits the node at once, answers checkpoint requests with a directive and can abort.</summary>
    private sealed class ScriptedJob : IJobGrain
    {
        private readonly TaskCompletionSource<ControlReply> _abort = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _beat = new(0);
        private NodeJoinRequest? _join;

        public int Joins { get; private set; }
        public ConcurrentQueue<NodeBeat> Beats { get; } = new();

        public void Abort(string reason) => _abort.TrySetResult(new ControlReply(ControlDirective.Abort, reason, null));

        public async Task WaitForAsync(Func<NodeBeat, bool> condition, string what)
        {
            using var deadline = new CancellationTokenSource(Deadline);
            while (!Beats.Any(condition))
            {
                try { await _beat.WaitAsync(deadline.Token); }
                catch (OperationCanceledException) { throw new TimeoutException($"no {what} within {Deadline}; beats: {Beats.Count}"); }
            }
        }

        public Task<JoinResult> JoinNode(NodeJoinRequest request)
        {
            Joins++;
            _join = request;
            return Task.FromResult(new JoinResult(true, request.NodeId, null));
        }

        public Task<NodeAssignmentResult> WaitForNodeAssignment(string nodeId, TimeSpan maxWait) =>
            Task.FromResult(new NodeAssignmentResult(AssignmentStatus.Assigned, new NodeAssignment("j", 1, 3,
                [.. _join!.Ranks.Select(r => new LocalSlot(r.LocalRank, r.LocalRank, 1L << 16 | (uint)r.LocalRank))], "", new EpochPlan(1, 0, 0), null), null));

        public Task<PeerTable> GetPeerTable(string nodeId, long generation) =>
            Task.FromResult(new PeerTable(1, 3, PeerTableCodec.Pack([.. _join!.Ranks.Select(r => new PeerEndpoint(r.LocalRank, "127.0.0.1", r.Port, "h"))])));

        public Task<NodeBeatReply> Beat(NodeBeat beat)
        {
            Beats.Enqueue(beat);
            _beat.Release();
            var replies = beat.Ranks.Where(r => r.Progress?.Checkpoint is CheckpointRequestKind.Save)
                .Select(r => new RankReply(r.LocalRank, new ControlReply(ControlDirective.Continue, null, new CheckpointDirective(1, r.Progress!.Step, "/ckpt"))))
                .ToList();
            return Task.FromResult(new NodeBeatReply(ControlDirective.Continue, null, replies));
        }

        public async Task<ControlReply> WaitForDirective(string nodeId, long generation, TimeSpan maxWait)
        {
            try { return await _abort.Task.WaitAsync(maxWait); }
            catch (TimeoutException) { return ControlReply.Continue; }
        }

        public Task<SubmitResult> Submit(JobSpecSummary spec) => throw new NotSupportedException();
        public Task<ControlReply> ReportExit(ProcessExitReport report) => Task.FromResult(ControlReply.Continue);
        public Task<JobStatus> Cancel(string reason) => throw new NotSupportedException();

        public Task<ScaleResult> Scale(int workers) => throw new NotSupportedException();

        public Task<ScaleResult> Drain(NodeDrainRequest request) => throw new NotSupportedException();
        public Task<JobStatus> GetStatus() => throw new NotSupportedException();
        public Task<CheckpointManifest?> GetLatestCheckpoint() => Task.FromResult<CheckpointManifest?>(null);
    }
}
