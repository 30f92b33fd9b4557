using System.Security.Cryptography;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
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
        return await job.VoteAsync(a, new CheckpointVote(d.CheckpointId, 0, cursor, [file], error));
    }

    private static async Task<(CheckpointDirective A, CheckpointDirective B)> StepAsync(JobDriver job, RankAssignment a, RankAssignment b, long step)
    {
        var ra = await job.ReportAsync(a, step);
        var rb = await job.ReportAsync(b, step);
        Assert.Equal(ControlDirective.Continue, ra.Directive);
        return (ra.Checkpoint!, rb.Checkpoint!);
    }

    [Fact]
    public async Task CheckpointCommitsOnlyAfterEveryAckAndAbortsLeaveNoManifest()
    {
        var (job, a, b) = await RunningJobAsync(checkpointInterval: 2);
        Assert.Null((await job.ReportAsync(a, 1)).Checkpoint);

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
    public async Task A_new_job_of_the_same_lineage_resumes_from_its_committed_checkpoint_found_on_disk()
    {
        var (job, a, b) = await RunningJobAsync(checkpointInterval: 2);
        var (da, db) = await StepAsync(job, a, b, 2);
        await WriteAndAckAsync(job, a, da, cursor: 32);
        await WriteAndAckAsync(job, b, db, cursor: 32);
        await job.Grain.Cancel("killed");
        var root = job.Spec.CheckpointDirectory;

        // Another job id, same spec and lineage root: the coordinator's memory of the first job plays no part.
        Task<SubmitResult> Submit(string id, string yaml = "name: test\n", bool fresh = false) => Grains.GetGrain<IJobGrain>(id)
            .Submit(job.Spec with { JobId = id, SpecYaml = yaml, Fresh = fresh });
        var again = await Submit(job.Spec.JobId + "-again");
        Assert.Equal("resuming from checkpoint 1 at step 2 (epoch 1, position 32)", again.RestoreNote);
        var status = await Grains.GetGrain<IJobGrain>(job.Spec.JobId + "-again").GetStatus();
        Assert.Equal(1, status.LastCommittedCheckpoint!.CheckpointId);
        Assert.Equal(again.RestoreNote, status.RestoreNote);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Submit(job.Spec.JobId + "-seed", "name: test\ntraining: { seed: 9 }\n"));
        Assert.Contains("training.seed differs", refused.Message);
        var fresh = await Submit(job.Spec.JobId + "-fresh", fresh: true);
        Assert.StartsWith("starting fresh (--fresh)", fresh.RestoreNote);
        Assert.Null((await Grains.GetGrain<IJobGrain>(job.Spec.JobId + "-fresh").GetStatus()).LastCommittedCheckpoint);

        // The newest committed checkpoint is corrupt: the previous one is used and the note says so.
        var second = CheckpointFiles.DirectoryOf(root, 2);
        Directory.CreateDirectory(second);
        foreach (var file in Directory.GetFiles(CheckpointFiles.DirectoryOf(root, 1))) File.Copy(file, Path.Combine(second, Path.GetFileName(file)));
        File.WriteAllBytes(Path.Combine(second, "rank0.pt"), new byte[1000]); // same size, other bytes
        File.WriteAllText(Path.Combine(second, "manifest.json"), File.ReadAllText(Path.Combine(second, "manifest.json")).Replace("\"checkpointId\": 1", "\"checkpointId\": 2"));
        var fallback = await Submit(job.Spec.JobId + "-fallback");
        Assert.Contains("checkpoint 2 is not usable", fallback.RestoreNote);
        Assert.EndsWith("resuming from checkpoint 1 at step 2 (epoch 1, position 32)", fallback.RestoreNote);
        foreach (var id in new[] { "-again", "-fresh", "-fallback" }) await Grains.GetGrain<IJobGrain>(job.Spec.JobId + id).Cancel("test over");
    }

    [Fact]
    public async Task A_checkpoint_open_when_the_coordinator_restarts_is_discarded_and_the_next_one_commits()
    {
        // Acks live in memory only (an ack no longer writes the whole job state): a reactivated grain cannot know which
        // ranks voted, so it discards the open checkpoint, says why, and the job goes on to the next one.
        var (job, a, b) = await RunningJobAsync(checkpointInterval: 2);
        var (da, _) = await StepAsync(job, a, b, 2);
        await WriteAndAckAsync(job, a, da, cursor: 32);
        await fx.Cluster.DeactivateAsync(job.Grain);
        var status = await job.Grain.GetStatus();
        Assert.Equal(JobState.Running, status.State);
        Assert.Null(status.OpenCheckpointId);
        Assert.Contains($"checkpoint {da.CheckpointId} was open when the coordinator restarted", status.LastCheckpointError);
        Assert.False(Directory.Exists(da.Directory));
        Assert.Contains("is not open", (await WriteAndAckAsync(job, b, da, cursor: 32)).Reason); // a late vote is refused, not fatal

        var (na, nb) = await StepAsync(job, a, b, 4);
        Assert.True(na.CheckpointId > da.CheckpointId);
        await WriteAndAckAsync(job, a, na, cursor: 64);
        await WriteAndAckAsync(job, b, nb, cursor: 64);
        Assert.Equal(na.CheckpointId, (await job.Grain.GetStatus()).LastCommittedCheckpoint!.CheckpointId);
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
        // The node's slot and token survive (the generation is persisted, one entry per node); the collective ports do not
        // (soft state), so the peer table cannot be handed out again, and says why.
        var reloaded = await job.Grain.WaitForNodeAssignment("nodeA", TimeSpan.FromSeconds(1));
        Assert.Equal(AssignmentStatus.Assigned, reloaded.Status);
        Assert.Equal(new LocalSlot(0, a.Rank, a.FencingToken), Assert.Single(reloaded.Assignment!.Slots));
        Assert.Equal((a.Generation, a.WorldSize, a.EpochPlan), (reloaded.Assignment.Generation, reloaded.Assignment.WorldSize, reloaded.Assignment.EpochPlan));
        var lost = await Assert.ThrowsAsync<InvalidOperationException>(() => job.Grain.GetPeerTable("nodeA", a.Generation));
        Assert.Contains("lost when the coordinator restarted", lost.Message);
        Assert.Equal(ControlDirective.Continue, (await job.RenewAsync(a)).Directive);
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
