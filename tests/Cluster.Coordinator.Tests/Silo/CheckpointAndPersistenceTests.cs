using System.Security.Cryptography;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Grains;
using Cluster.Coordinator.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Cluster.Coordinator.Tests.Silo;

public sealed class CheckpointAndPersistenceTests(CoordinatorClusterFixture fx) : IClassFixture<CoordinatorClusterFixture>
{
    private IGrainFactory Grains => fx.Cluster.Client;

    private async Task<(JobDriver Job, RankAssignment A, RankAssignment B)> RunningJobAsync(long checkpointInterval = 0)
    {
        var job = await JobDriver.SubmitAsync(Grains, 2, 2, checkpointInterval, fx.CheckpointRoot);
        Assert.True((await job.JoinAsync("nodeA", 29500)).Accepted);
        Assert.True((await job.JoinAsync("nodeB", 29501)).Accepted);
        return (job, await job.AssignmentAsync("nodeA/0"), await job.AssignmentAsync("nodeB/0"));
    }

    /// <summary>What a rank does on a checkpoint directive: write its file durably, then ack with name/size/sha256.</summary>
    private static async Task<ControlReply> WriteAndAckAsync(JobDriver job, RankAssignment a, CheckpointDirective d, long cursor, string? error = null)
    {
        Directory.CreateDirectory(d.Directory);
        var bytes = RandomNumberGenerator.GetBytes(1000 + a.Rank);
        var name = $"rank{a.Rank}.pt";
        await File.WriteAllBytesAsync(Path.Combine(d.Directory, name), bytes);
        var file = new CheckpointFile(name, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        return await job.Grain.AckCheckpoint(new CheckpointAck(JobDriver.Beat(a).MemberId, a.Generation, a.FencingToken, d.CheckpointId, a.Rank, 0, cursor, [file], error));
    }

    private static async Task<(CheckpointDirective A, CheckpointDirective B)> StepAsync(JobDriver job, RankAssignment a, RankAssignment b, long step)
    {
        var ra = await job.Grain.ReportProgress(JobDriver.Progress(a, step));
        var rb = await job.Grain.ReportProgress(JobDriver.Progress(b, step));
        Assert.Equal(ControlDirective.Continue, ra.Directive);
        return (ra.Checkpoint!, rb.Checkpoint!);
    }

    [Fact]
    public async Task CheckpointCommitsOnlyAfterEveryAckAndAbortsLeaveNoManifest()
    {
        var (job, a, b) = await RunningJobAsync(checkpointInterval: 2);
        Assert.Null((await job.Grain.ReportProgress(JobDriver.Progress(a, 1))).Checkpoint);

        var (da, db) = await StepAsync(job, a, b, 2);
        Assert.Equal(da, db);
        Assert.Equal(2, da.Step);
        var manifest = Path.Combine(da.Directory, "manifest.json");
        Assert.Equal(JobState.Checkpointing, (await job.Grain.GetStatus()).State);
        await WriteAndAckAsync(job, a, da, cursor: 32);
        Assert.False(File.Exists(manifest));
        Assert.Equal(JobState.Checkpointing, (await job.Grain.GetStatus()).State);
        await WriteAndAckAsync(job, b, db, cursor: 32);
        Assert.True(File.Exists(manifest));
        var status = await job.Grain.GetStatus();
        Assert.Equal(JobState.Running, status.State);
        Assert.Equal(da.CheckpointId, status.LastCommittedCheckpoint!.CheckpointId);
        Assert.Equal(new EpochPlan(42, 0, 32), status.LastCommittedCheckpoint.EpochPlan);
        Assert.Equal(2, status.LastCommittedCheckpoint.Ranks.Count);

        // An error vote aborts: partial files deleted, the committed one stays the restore point.
        var (ea, eb) = await StepAsync(job, a, b, 4);
        await WriteAndAckAsync(job, a, ea, cursor: 64);
        await WriteAndAckAsync(job, b, eb, cursor: 64, error: "disk full");
        Assert.False(Directory.Exists(ea.Directory));
        Assert.Equal(da.CheckpointId, (await job.Grain.GetLatestCheckpoint())!.CheckpointId);
        Assert.Equal(JobState.Running, (await job.Grain.GetStatus()).State);

        // A rank that never acks: the open checkpoint times out (fake clock) and is discarded.
        var (ta, _) = await StepAsync(job, a, b, 6);
        await WriteAndAckAsync(job, a, ta, cursor: 96);
        fx.Time.Advance(TimeSpan.FromSeconds(1.5));
        var after = await job.WaitForStatusAsync(s => s.OpenCheckpointId is null, "open checkpoint times out");
        Assert.Equal(JobState.Running, after.State);
        Assert.False(Directory.Exists(ta.Directory));
        Assert.Equal(da.CheckpointId, after.LastCommittedCheckpoint!.CheckpointId);
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task StateSurvivesGrainDeactivationInFileStorage()
    {
        var (job, a, _) = await RunningJobAsync();
        await fx.Cluster.DeactivateAsync(job.Grain);
        var status = await job.Grain.GetStatus();
        Assert.Equal(JobState.Running, status.State);
        Assert.Equal(1, status.Generation);
        Assert.Equal(["nodeA/0", "nodeB/0"], status.Ranks.Select(r => r.MemberId));
        var again = await job.Grain.Submit(job.Spec);
        Assert.False(again.Created);
        Assert.Equal(job.Secret, again.JobSecretBase64);
        var reloaded = await job.AssignmentAsync("nodeA/0");
        Assert.Equal(a with { Peers = [] }, reloaded with { Peers = [] });
        Assert.Equal(a.Peers, reloaded.Peers);
        Assert.Equal(ControlDirective.Continue, (await job.Grain.Heartbeat(JobDriver.Beat(a))).Directive);
        Assert.Single(Directory.GetFiles(fx.StateDirectory, "*" + job.Spec.JobId + "*.json", SearchOption.AllDirectories));
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task FileStorageRefusesAWriteWithAStaleETag()
    {
        var services = fx.Cluster.GetSiloServiceProvider();
        var storage = new JsonFileGrainStorage("t", new JsonFileGrainStorageOptions(Path.Combine(fx.StateDirectory, "etag")), services.GetRequiredService<IActivatorProvider>());
        var id = GrainId.Create("job", "etag-test");
        var first = new GrainState<JobGrainState>(new JobGrainState { FailureReason = "one" });
        await storage.WriteStateAsync("job", id, first);
        var stale = new GrainState<JobGrainState>(new JobGrainState()) { ETag = first.ETag };
        first.State.FailureReason = "two";
        await storage.WriteStateAsync("job", id, first);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("job", id, stale));
        var read = new GrainState<JobGrainState>();
        await storage.ReadStateAsync("job", id, read);
        Assert.Equal("two", read.State.FailureReason);
        Assert.Equal(first.ETag, read.ETag);
    }
}
