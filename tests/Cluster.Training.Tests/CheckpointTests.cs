using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

[Collection(SerialTorchCollection.Name)]
public sealed class CheckpointTests
{
    private sealed record SchedulerState(int LastEpoch, double Lr);

    private sealed class Rig
    {
        public Rig(long seed)
        {
            torch.manual_seed(seed);
            Model = nn.Sequential(("fc1", nn.Linear(6, 8)), ("relu", nn.ReLU()), ("fc2", nn.Linear(8, 3)));
            Optimizer = torch.optim.SGD(Model.parameters(), 0.1, momentum: 0.9);
            Parts = [new ModuleCheckpointPart(Model), new OptimizerCheckpointPart(Optimizer), new JsonCheckpointPart<SchedulerState>("scheduler.json", () => Scheduler, s => Scheduler = s)];
        }

        public nn.Module<Tensor, Tensor> Model { get; }
        public TorchSharp.Modules.SGD Optimizer { get; }
        public SchedulerState Scheduler { get; set; } = new(0, 0.1);
        public ICheckpointPart[] Parts { get; }

        public void TrainStep(int i)
        {
            using var scope = torch.NewDisposeScope();
            torch.manual_seed(1000 + i);
            var x = torch.randn(4, 6);
            var y = torch.randint(0, 3, [4]);
            Optimizer.zero_grad();
            nn.functional.cross_entropy(Model.call(x), y).backward();
            Optimizer.step();
        }

        public float[] Weights() => Model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
    }

    /// <summary>Saves <paramref name="parts"/> at <paramref name="step"/> the way a trainer without a coordinator does: ticket, capture, write, vote.</summary>
    private static async Task<CheckpointManifest> SaveAsync(LocalCheckpointCommitter committer, long step, IReadOnlyList<ICheckpointPart> parts, bool final = false)
    {
        var request = new CheckpointRequest(step, new SamplerCursor(2, 640), final);
        var ticket = (await committer.OpenAsync(request, CancellationToken.None))!;
        using (var capture = CheckpointCapture.Take(parts))
            await committer.AckAsync(ticket, request, capture.WriteTo(ticket.Directory), null, CancellationToken.None);
        return CheckpointFiles.TryRead(ticket.Directory)!;
    }

    private static LocalCheckpointCommitter Committer(string root, int keepLast = 3) =>
        new(root, CheckpointLineage.Scan(root, keepLast), keepLast, "t", [], 7, 4);

    [Fact]
    public async Task Round_trip_restores_model_optimizer_and_scheduler_exactly()
    {
        using var dir = new TempDir();
        var a = new Rig(1);
        for (int i = 0; i < 3; i++) a.TrainStep(i);
        a.Scheduler = new SchedulerState(7, 0.05);
        var m = await SaveAsync(Committer(dir.Path), 30, a.Parts);
        Assert.Equal(CheckpointFiles.DirectoryOf(dir.Path, 1), m.Directory);
        Assert.Equal((30L, 2, 640L, 4), (m.Step, m.EpochPlan.Epoch, m.EpochPlan.Cursor, m.WorldSize));

        var b = new Rig(2);
        Assert.NotEqual(a.Weights(), b.Weights());
        CheckpointReader.Load(CheckpointLineage.Scan(dir.Path, 3).Latest!, b.Parts);
        Assert.Equal(a.Weights(), b.Weights());
        Assert.Equal(new SchedulerState(7, 0.05), b.Scheduler);
        // Momentum buffers came back too: the next step is identical.
        a.TrainStep(3);
        b.TrainStep(3);
        Assert.Equal(a.Weights(), b.Weights());
    }

    [Fact]
    public async Task Model_file_loads_with_torchsharp_module_load()
    {
        using var dir = new TempDir();
        var a = new Rig(3);
        a.TrainStep(0);
        var m = await SaveAsync(Committer(dir.Path), 1, a.Parts);
        var fresh = new Rig(4);
        fresh.Model.load(Path.Combine(m.Directory, "model.bin"));
        Assert.Equal(a.Weights(), fresh.Weights());
    }

    [Fact]
    public async Task A_flipped_byte_in_any_file_is_refused_naming_that_file_and_the_scan_falls_back()
    {
        using var dir = new TempDir();
        var committer = Committer(dir.Path, keepLast: 5);
        var rig = new Rig(5);
        await SaveAsync(committer, 10, rig.Parts);
        var m = await SaveAsync(committer, 20, rig.Parts);
        var names = Directory.GetFiles(m.Directory).Select(Path.GetFileName).ToArray();
        Assert.Equal(["manifest.json", "model.bin", "optimizer.bin", "scheduler.json"], names.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var name in names.Where(n => n != "manifest.json"))
        {
            string path = Path.Combine(m.Directory, name!);
            var original = File.ReadAllBytes(path);
            foreach (int at in new[] { 0, original.Length / 2, original.Length - 2 })
            {
                var bytes = (byte[])original.Clone();
                bytes[at] ^= 0x20;
                File.WriteAllBytes(path, bytes);
                var ex = Assert.Throws<CheckpointCorruptException>(() => CheckpointReader.Load(m, new Rig(6).Parts));
                Assert.Equal(path, ex.FilePath);
                Assert.Equal(10, CheckpointLineage.Scan(dir.Path, 5).Latest!.Step); // falls back to the previous valid one
            }
            File.WriteAllBytes(path, original);
        }
        Assert.Equal(20, CheckpointLineage.Scan(dir.Path, 5).Latest!.Step);
    }

    [Fact]
    public async Task A_crash_before_the_manifest_leaves_the_previous_checkpoint_latest_and_ids_continue()
    {
        using var dir = new TempDir();
        var rig = new Rig(8);
        await SaveAsync(Committer(dir.Path), 100, rig.Parts);
        // A crash mid-write of checkpoint 2: data files, one still under its temp name, no manifest.
        var crashed = CheckpointFiles.DirectoryOf(dir.Path, 2);
        using (var capture = CheckpointCapture.Take(rig.Parts)) capture.WriteTo(crashed);
        File.WriteAllBytes(Path.Combine(crashed, ".model.bin.0.tmp"), [1, 2, 3]);
        var scan = CheckpointLineage.Scan(dir.Path, 3);
        Assert.Equal(100, scan.Latest!.Step);
        Assert.Equal(2, scan.LastCheckpointId);
        var next = await SaveAsync(Committer(dir.Path), 300, rig.Parts); // a re-run after the crash
        Assert.Equal(3, next.CheckpointId);
    }

    [Fact]
    public async Task Keep_last_k_deletes_older_checkpoints()
    {
        using var dir = new TempDir();
        var committer = Committer(dir.Path, keepLast: 2);
        var rig = new Rig(9);
        foreach (long step in new long[] { 1, 2, 3, 10, 11 }) await SaveAsync(committer, step, rig.Parts);
        Assert.Equal(["ckpt-00000004", "ckpt-00000005"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal([10L, 11L], CheckpointLineage.Scan(dir.Path, 2).Committed.Select(c => c.Step));
    }

    [Fact]
    public async Task A_failed_write_is_voted_as_an_error_and_the_next_save_commits()
    {
        using var dir = new TempDir();
        var rig = new Rig(12);
        var votes = new List<string?>();
        var committer = new RecordingCommitter(Committer(dir.Path), votes);
        await using var trainerCheckpoint = new Cluster.Training.Engine.TrainerCheckpoint(committer, rank: 0);
        var blocked = CheckpointFiles.DirectoryOf(dir.Path, 1);
        Directory.CreateDirectory(Path.Combine(blocked, "model.bin")); // a directory where the model file must go
        var progress = new Cluster.Training.Engine.TrainerProgress { Step = 1, WorldSize = 1 };
        await trainerCheckpoint.SaveAsync(new CheckpointRequest(1, new SamplerCursor(0, 8), false), progress, rig.Model, rig.Optimizer, CancellationToken.None);
        await trainerCheckpoint.FlushAsync(CancellationToken.None); // no exception: training goes on
        Assert.Contains("IOException", Assert.Single(votes));
        Assert.False(Directory.Exists(blocked)); // discarded
        await trainerCheckpoint.SaveAsync(new CheckpointRequest(2, new SamplerCursor(0, 16), false), progress with { Step = 2 }, rig.Model, rig.Optimizer, CancellationToken.None);
        await trainerCheckpoint.FlushAsync(CancellationToken.None);
        Assert.Null(votes[1]);
        Assert.Equal(2, CheckpointLineage.Scan(dir.Path, 3).Latest!.Step);
    }

    [Fact]
    public async Task A_save_whose_generation_ended_while_it_voted_does_not_fail_the_next_generation_or_the_disposal()
    {
        var rig = new Rig(13);
        var voting = new TaskCompletionSource();
        await using var trainerCheckpoint = new Cluster.Training.Engine.TrainerCheckpoint(new StuckVoteCommitter(voting), rank: 1);
        using var generation = new CancellationTokenSource();
        var progress = new Cluster.Training.Engine.TrainerProgress { Step = 5, WorldSize = 2 };
        await trainerCheckpoint.SaveAsync(new CheckpointRequest(5, new SamplerCursor(0, 8), false), progress, rig.Model, rig.Optimizer, generation.Token);
        await voting.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the vote waits for a coordinator that will never answer it
        generation.Cancel(); // a peer died: the generation's token ends the vote
        // The next generation flushes the old save with its own (live) token: done, not a TaskCanceledException.
        await trainerCheckpoint.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        // The next save starts (its flush of the old one passes too); a flush's own cancellation still counts.
        using var next = new CancellationTokenSource();
        await trainerCheckpoint.SaveAsync(new CheckpointRequest(6, new SamplerCursor(0, 16), false), progress with { Step = 6 }, rig.Model, rig.Optimizer, next.Token);
        using var mine = new CancellationTokenSource();
        await mine.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => trainerCheckpoint.FlushAsync(mine.Token));
        await next.CancelAsync(); // that generation ends too; the disposal (await using) then does not throw
    }

    /// <summary>Opens every checkpoint; its vote never returns until cancelled.</summary>
    private sealed class StuckVoteCommitter(TaskCompletionSource voting) : ICheckpointCommitter
    {
        public Task<CheckpointTicket?> OpenAsync(CheckpointRequest request, CancellationToken cancellationToken) =>
            Task.FromResult<CheckpointTicket?>(new CheckpointTicket(request.Step, request.Step, Path.GetTempPath()));

        public async Task AckAsync(CheckpointTicket ticket, CheckpointRequest request, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken)
        {
            voting.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    private sealed class RecordingCommitter(ICheckpointCommitter inner, List<string?> votes) : ICheckpointCommitter
    {
        public Task<CheckpointTicket?> OpenAsync(CheckpointRequest request, CancellationToken cancellationToken) => inner.OpenAsync(request, cancellationToken);

        public Task AckAsync(CheckpointTicket ticket, CheckpointRequest request, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken)
        {
            votes.Add(error);
            return inner.AckAsync(ticket, request, files, error, cancellationToken);
        }
    }

    [Fact]
    public void Torch_rng_state_round_trips_and_part_names_are_validated()
    {
        torch.manual_seed(77);
        var saved = TorchRng.Capture();
        var first = torch.rand(5).data<float>().ToArray();
        TorchRng.Restore(saved);
        Assert.Equal(first, torch.rand(5).data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => new DelegateCheckpointPart("../evil", _ => { }, _ => { }));
        Assert.Throws<ArgumentException>(() => new DelegateCheckpointPart("manifest.json", _ => { }, _ => { }));
        var dup = new DelegateCheckpointPart("x.bin", s => s.WriteByte(1), _ => { });
        Assert.Throws<ArgumentException>(() => CheckpointCapture.Take([dup, dup]));
    }
}
