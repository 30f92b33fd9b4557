using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

public sealed class CheckpointTests(Xunit.Abstractions.ITestOutputHelper output)
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

    private static CheckpointState State(long step) => new()
    {
        Step = step, Epoch = 2, Cursor = new SamplerCursor(2, 640), JobSpecHash = "abc123", WorldSize = 4,
        RngStates = new Dictionary<string, byte[]> { ["torch"] = TorchRng.Capture() },
        Extra = new Dictionary<string, string> { ["loss"] = "0.5" },
    };

    [Fact]
    public void Round_trip_restores_model_optimizer_scheduler_and_state()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path });
        var a = new Rig(1);
        for (int i = 0; i < 3; i++) a.TrainStep(i);
        a.Scheduler = new SchedulerState(7, 0.05);
        var state = State(30);
        var info = store.Write(store.Snapshot(state, a.Parts), out _);
        Assert.Equal(Path.Combine(dir.Path, "step-30"), info.Directory);

        var b = new Rig(2);
        Assert.NotEqual(a.Weights(), b.Weights());
        var loaded = store.Load(store.Latest()!, b.Parts);
        Assert.Equal(a.Weights(), b.Weights());
        Assert.Equal(new SchedulerState(7, 0.05), b.Scheduler);
        Assert.Equal(state.Step, loaded.Step);
        Assert.Equal(state.Cursor, loaded.Cursor);
        Assert.Equal(state.JobSpecHash, loaded.JobSpecHash);
        Assert.Equal(state.RngStates["torch"], loaded.RngStates["torch"]);
        Assert.Equal("0.5", loaded.Extra["loss"]);
        // Momentum buffers came back too: the next step is identical.
        a.TrainStep(3);
        b.TrainStep(3);
        Assert.Equal(a.Weights(), b.Weights());
    }

    [Fact]
    public void Model_file_loads_with_torchsharp_module_load()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path });
        var a = new Rig(3);
        a.TrainStep(0);
        var info = store.Write(store.Snapshot(State(1), a.Parts), out _);
        var fresh = new Rig(4);
        fresh.Model.load(Path.Combine(info.Directory, "model.bin"));
        Assert.Equal(a.Weights(), fresh.Weights());
    }

    [Fact]
    public void A_flipped_byte_in_any_file_is_refused_naming_that_file()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path, KeepLast = 5 });
        var rig = new Rig(5);
        store.Write(store.Snapshot(State(10), rig.Parts), out _);
        var info = store.Write(store.Snapshot(State(20), rig.Parts), out _);
        var names = Directory.GetFiles(info.Directory).Select(Path.GetFileName).ToArray();
        Assert.Equal(["manifest.json", "model.bin", "optimizer.bin", "scheduler.json", "state.json"], names.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var name in names)
        {
            string path = Path.Combine(info.Directory, name!);
            var original = File.ReadAllBytes(path);
            foreach (int at in new[] { 0, original.Length / 2, original.Length - 2 })
            {
                var bytes = (byte[])original.Clone();
                bytes[at] ^= 0x20;
                File.WriteAllBytes(path, bytes);
                var ex = Assert.Throws<CheckpointCorruptException>(() => store.Load(info, new Rig(6).Parts));
                Assert.Equal(path, ex.FilePath);
                Assert.Contains(path, ex.Message);
                Assert.Equal(10, store.Latest()!.Step); // falls back to the previous valid one
            }
            File.WriteAllBytes(path, original);
            store.Verify(info);
        }
        Assert.Equal(20, store.Latest()!.Step);
        // Every single byte of the manifest is protected (value changes, parse errors, unknown property names).
        string manifest = Path.Combine(info.Directory, "manifest.json");
        var good = File.ReadAllBytes(manifest);
        for (int at = 0; at < good.Length; at++)
        {
            var bytes = (byte[])good.Clone();
            bytes[at] ^= 0x20;
            File.WriteAllBytes(manifest, bytes);
            var ex = Assert.Throws<CheckpointCorruptException>(() => store.Verify(info));
            Assert.Equal(manifest, ex.FilePath);
        }
        File.WriteAllBytes(manifest, good);
        store.Verify(info);
    }

    [Fact]
    public void A_truncated_file_is_refused()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path });
        var info = store.Write(store.Snapshot(State(5), new Rig(7).Parts), out _);
        string model = Path.Combine(info.Directory, "model.bin");
        var bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(model, bytes[..^10]);
        var ex = Assert.Throws<CheckpointCorruptException>(() => store.Verify(info));
        Assert.Equal(model, ex.FilePath);
        Assert.Contains("truncated", ex.Message);
        Assert.Null(store.Latest());
        File.Delete(model);
        Assert.Contains("missing", Assert.Throws<CheckpointCorruptException>(() => store.Verify(info)).Message);
    }

    [Fact]
    public void A_crash_before_the_manifest_leaves_the_previous_checkpoint_latest()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path });
        var rig = new Rig(8);
        store.Write(store.Snapshot(State(100), rig.Parts), out _);
        // Simulate a crash mid-write of step 200: data files (one still under its temp name), no manifest.
        string crashed = Path.Combine(dir.Path, "step-200");
        Directory.CreateDirectory(crashed);
        foreach (var (name, bytes) in store.Snapshot(State(200), rig.Parts).Files) File.WriteAllBytes(Path.Combine(crashed, name), bytes.ToArray());
        File.WriteAllBytes(Path.Combine(crashed, "manifest.json.tmp"), [1, 2, 3]);
        Directory.CreateDirectory(Path.Combine(dir.Path, "step-50")); // an older crash leftover
        Assert.Equal(100, store.Latest()!.Step);
        Assert.Equal([100L], store.List().Select(c => c.Step));
        Assert.Contains("incomplete", Assert.Throws<CheckpointCorruptException>(() => store.Verify(new CheckpointInfo(200, crashed))).Message);
        // The next successful write cleans up the older leftover.
        store.Write(store.Snapshot(State(300), rig.Parts), out var deleted);
        Assert.Contains(50L, deleted);
        Assert.Contains(200L, deleted);
        Assert.Equal(300, store.Latest()!.Step);
    }

    [Fact]
    public void Keep_last_k_deletes_older_checkpoints()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path, KeepLast = 2 });
        var rig = new Rig(9);
        IReadOnlyList<long> deleted = [];
        foreach (long step in new long[] { 1, 2, 3, 10, 11 }) store.Write(store.Snapshot(State(step), rig.Parts), out deleted);
        Assert.Equal([3L], deleted); // steps 1 and 2 went with earlier writes
        Assert.Equal([11L, 10L], store.List().Select(c => c.Step));
        Assert.Equal(["step-10", "step-11"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Background_write_snapshots_at_the_step_boundary_and_reports_stall_and_write_time()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path });
        var a = new Rig(10);
        using var big = nn.Linear(1024, 1024); // ~4 MiB of weights to make the write measurable
        var parts = a.Parts.Append(new ModuleCheckpointPart(big, "big.bin")).ToArray();
        await using var writer = new BackgroundCheckpointer(store);
        var before = a.Weights();
        var pending = writer.Begin(State(1), parts, CancellationToken.None);
        a.TrainStep(0); // training continues while the write is in flight
        var result = await pending.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(pending.Stall, result.Stall);
        Assert.True(result.Stall > TimeSpan.Zero && result.WriteTime > TimeSpan.Zero);
        Assert.True(result.Bytes > 4_000_000);
        output.WriteLine($"checkpoint {result.Bytes} bytes: stall {result.Stall.TotalMilliseconds:F1} ms, background write {result.WriteTime.TotalMilliseconds:F1} ms");
        var b = new Rig(11);
        store.Load(result.Checkpoint, b.Parts);
        Assert.Equal(before, b.Weights());           // the snapshot, not the later weights
        Assert.NotEqual(a.Weights(), b.Weights());
        var second = writer.Begin(State(2), parts, CancellationToken.None);
        var r2 = (await writer.FlushAsync(CancellationToken.None))!;
        Assert.Equal(2, r2.Checkpoint.Step);
        output.WriteLine($"second (warm) checkpoint {r2.Bytes} bytes: stall {r2.Stall.TotalMilliseconds:F1} ms, background write {r2.WriteTime.TotalMilliseconds:F1} ms");
        Assert.Equal(2, store.Latest()!.Step);
        Assert.Equal(second.Step, writer.Last!.Step);
    }

    [Fact]
    public async Task A_failed_background_write_is_reported_once_by_the_next_begin()
    {
        using var dir = new TempDir();
        string blocked = dir.Combine("not-a-dir");
        File.WriteAllText(blocked, "a file where the checkpoint folder should be");
        var store = new CheckpointStore(new CheckpointOptions { Directory = blocked });
        await using var writer = new BackgroundCheckpointer(store);
        var rig = new Rig(12);
        var failed = writer.Begin(State(1), rig.Parts, CancellationToken.None);
        await Assert.ThrowsAnyAsync<IOException>(() => failed.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
        File.Delete(blocked);
        var ex = Assert.Throws<IOException>(() => writer.Begin(State(2), rig.Parts, CancellationToken.None));
        Assert.Contains("step 1", ex.Message);
        var ok = writer.Begin(State(2), rig.Parts, CancellationToken.None);
        Assert.Equal(2, (await ok.Completion.WaitAsync(TimeSpan.FromSeconds(30))).Checkpoint.Step);
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
        using var dir = new TempDir();
        var store = new CheckpointStore(new CheckpointOptions { Directory = dir.Path });
        var dup = new DelegateCheckpointPart("x.bin", s => s.WriteByte(1), _ => { });
        Assert.Throws<ArgumentException>(() => store.Snapshot(State(1), [dup, dup]));
        var info = store.Write(store.Snapshot(State(1), [dup]), out _);
        var missing = Assert.Throws<CheckpointCorruptException>(() => store.Load(info, [new DelegateCheckpointPart("y.bin", _ => { }, _ => { })]));
        Assert.Contains("y.bin", missing.Message);
    }
}
