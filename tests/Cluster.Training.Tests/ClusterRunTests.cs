using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Xunit;

namespace Cluster.Training.Tests;

/// <summary>`cluster run` end to end: real rank processes, real TCP communicator, JSON summary.</summary>
public sealed class ClusterRunTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string dir = Directory.CreateTempSubdirectory("t1-run-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string WriteSpec(int batchSize, string extra = "")
    {
        var path = Path.Combine(dir, $"job-{batchSize}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"""
            name: run-test
            training:
              model: {"{"} type: mlp, dropout: 0 {"}"}
              dataset: {"{"} type: synthetic, samples: 384, testSamples: 128, classes: 4, shape: [1, 8, 8], noise: 0.6 {"}"}
              epochs: 2
              batchSize: {batchSize}
              optimizer: {"{"} type: sgd, lr: 0.05, momentum: 0.9 {"}"}
              augmentation: {"{"} normalize: true {"}"}
              seed: 5
            {extra}
            """);
        return path;
    }

    private static JsonElement LastJsonLine(string stdout)
    {
        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        return JsonDocument.Parse(last).RootElement;
    }

    [Fact]
    public async Task Two_workers_train_and_print_json_summary_last()
    {
        var (code, stdout, stderr) = await ClusterCli.RunAsync(Timeout, "run", WriteSpec(16), "--workers", "2", "--json");
        Assert.True(code == 0, stderr);
        var summary = LastJsonLine(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(2, summary.GetProperty("epochs").GetInt32());
        Assert.Equal(2 * 384 / 32, summary.GetProperty("steps").GetInt64());
        Assert.InRange(summary.GetProperty("test_accuracy").GetDouble(), 0.8, 1.0);
        Assert.True(summary.GetProperty("test_loss").GetDouble() > 0);
        Assert.True(summary.GetProperty("samples_per_sec").GetDouble() > 0);
        Assert.True(summary.GetProperty("wall_seconds").GetDouble() > 0);
        Assert.Contains("[rank 0] epoch 2/2", stderr); // human text goes to stderr with --json
        // The launcher gave the ranks the malloc settings (a value already in this environment would have won).
        Assert.Contains($"glibc malloc: MALLOC_ARENA_MAX={Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") ?? "1"} " +
            $"MALLOC_MMAP_THRESHOLD_={Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") ?? "33554432"}", stderr);
    }

    [Fact]
    public async Task Two_processes_with_batch_B_match_one_process_with_batch_2B()
    {
        var two = await ClusterCli.RunAsync(Timeout, "run", WriteSpec(16), "--workers", "2", "--json");
        var one = await ClusterCli.RunAsync(Timeout, "run", WriteSpec(32), "--workers", "1", "--json");
        Assert.True(two.ExitCode == 0 && one.ExitCode == 0, two.Stderr + one.Stderr);
        var a = LastJsonLine(two.Stdout);
        var b = LastJsonLine(one.Stdout);
        Assert.Equal(b.GetProperty("steps").GetInt64(), a.GetProperty("steps").GetInt64());
        Assert.Equal(b.GetProperty("test_accuracy").GetDouble(), a.GetProperty("test_accuracy").GetDouble());
        var (la, lb) = (a.GetProperty("test_loss").GetDouble(), b.GetProperty("test_loss").GetDouble());
        Assert.True(Math.Abs(la - lb) <= 1e-4 * Math.Abs(lb), $"test loss {la} (2 ranks) vs {lb} (1 rank)");
    }

    [Fact]
    public async Task Resumed_run_in_new_processes_equals_uninterrupted_run()
    {
        // S = 7 steps with checkpoints, then new processes resume to S + K = 20; compare with 20 steps straight.
        // Momentum state, sampler cursor and step count come from the checkpoint; results must match bit for bit.
        string Spec(int maxSteps, string ckpt) => WriteSpec(16, $"checkpoint: {{ dir: {Path.Combine(dir, ckpt)}, keepLast: 2 }}")
            .Also(p => File.WriteAllText(p, File.ReadAllText(p).Replace("seed: 5", $"seed: 5\n  maxSteps: {maxSteps}")));
        var first = await ClusterCli.RunAsync(Timeout, "run", Spec(7, "a"), "--workers", "2", "--json");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(7, LastJsonLine(first.Stdout).GetProperty("steps").GetInt64());
        var resumed = await ClusterCli.RunAsync(Timeout, "run", Spec(20, "a"), "--workers", "2", "--json");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resumed from", resumed.Stderr);
        var straight = await ClusterCli.RunAsync(Timeout, "run", Spec(20, "b"), "--workers", "2", "--json");
        Assert.True(straight.ExitCode == 0, straight.Stderr);
        var (r, s) = (LastJsonLine(resumed.Stdout), LastJsonLine(straight.Stdout));
        Assert.Equal(20, r.GetProperty("steps").GetInt64());
        Assert.Equal(s.GetProperty("test_loss").GetDouble(), r.GetProperty("test_loss").GetDouble());
        Assert.Equal(s.GetProperty("test_accuracy").GetDouble(), r.GetProperty("test_accuracy").GetDouble());
    }

    [Fact]
    public async Task A_job_killed_mid_epoch_resumes_from_its_committed_checkpoint_bit_identical_to_an_uninterrupted_run()
    {
        // 4 epochs of 12 steps, a checkpoint every 5 steps. The whole job (CLI with its silo and agent, both ranks) is killed
        // with SIGKILL once a checkpoint is committed; the same spec run again resumes from the newest committed checkpoint.
        string Spec(string ckpt) => WriteSpec(16, $"checkpoint: {{ dir: {Path.Combine(dir, ckpt)}, intervalSteps: 5, keepLast: 3 }}")
            .Also(p => File.WriteAllText(p, File.ReadAllText(p).Replace("epochs: 2", "epochs: 4")));
        var spec = Spec("a");
        var root = Path.Combine(dir, "a", "run-test");
        using (var victim = ClusterCli.Start("run", spec, "--workers", "2", "--json"))
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(CheckpointFiles.DirectoryOf(root, 1), CheckpointFiles.ManifestFileName)) && watch.Elapsed < Timeout && !victim.HasExited)
                Thread.Sleep(2);
            victim.Kill(entireProcessTree: true);
            await victim.WaitForExitAsync();
        }
        var atKill = CheckpointLineage.Scan(root, 3).Latest;
        Assert.NotNull(atKill);
        Assert.False(atKill!.Final, "the job finished before it was killed");

        var resumed = await ClusterCli.RunAsync(Timeout, "run", spec, "--workers", "2", "--json");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains($"resuming from {CheckpointLineage.Describe(atKill)}", resumed.Stderr);
        var straight = await ClusterCli.RunAsync(Timeout, "run", Spec("b"), "--workers", "2", "--json");
        Assert.True(straight.ExitCode == 0, straight.Stderr);
        Assert.Equal(48, LastJsonLine(resumed.Stdout).GetProperty("steps").GetInt64());

        // Parameters, optimizer state and trainer progress (step, sampler position) of the final checkpoints: byte for byte.
        var (r, s) = (CheckpointLineage.Scan(root, 3).Latest!, CheckpointLineage.Scan(Path.Combine(dir, "b", "run-test"), 3).Latest!);
        Assert.True(r.Final && s.Final);
        Assert.Equal(s.Ranks.Single().Files.Select(f => (f.Name, f.Sha256)), r.Ranks.Single().Files.Select(f => (f.Name, f.Sha256)));
        Assert.Equal(s.EpochPlan, r.EpochPlan);

        // Again: nothing left to do. A corrupt final checkpoint: the previous one is used, and the run says so.
        var again = await ClusterCli.RunAsync(Timeout, "run", spec, "--workers", "2", "--json");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal("already_complete", LastJsonLine(again.Stdout).GetProperty("status").GetString());
        Assert.Contains("already complete", again.Stderr);
        var model = Path.Combine(r.Directory, "model.bin");
        var bytes = File.ReadAllBytes(model);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(model, bytes);
        var fallback = await ClusterCli.RunAsync(Timeout, "run", spec, "--workers", "1", "--json"); // and on another world size
        Assert.True(fallback.ExitCode == 0, fallback.Stderr);
        Assert.Contains($"checkpoint {r.CheckpointId} is not usable", fallback.Stderr);
        Assert.Contains("resuming from checkpoint", fallback.Stderr);
        Assert.Equal("completed", LastJsonLine(fallback.Stdout).GetProperty("status").GetString());

        // A spec whose optimizer differs is refused naming the field; --fresh starts over.
        var changed = spec.Also(p => File.WriteAllText(p, File.ReadAllText(p).Replace("lr: 0.05", "lr: 0.01")));
        var refused = await ClusterCli.RunAsync(Timeout, "run", changed, "--workers", "2", "--json");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("training.optimizer differs", refused.Stderr);
    }

    [Theory]
    [InlineData(2, 1, 160, 5 + 7 + 12)]  // 384 samples, batch 16: 5 steps of 32; the global batch stays 32: (384 - 160) / 32 and 384 / 32
    [InlineData(1, 2, 80, 5 + 19 + 24)]  // 5 steps of 16; then steps of 16 split 8 + 8: (384 - 80) / 16 and 384 / 16
    public async Task A_job_stopped_mid_epoch_resumes_at_another_world_size_from_the_committed_position(int before, int after, long position, long steps)
    {
        var root = Path.Combine(dir, "resize");
        var spec = WriteSpec(16, $"checkpoint: {{ dir: {root} }}");
        var limited = spec.Also(p => File.WriteAllText(p, File.ReadAllText(p).Replace("seed: 5", "seed: 5\n  maxSteps: 5")));
        var first = await ClusterCli.RunAsync(Timeout, "run", limited, "--workers", before.ToString(), "--json");
        Assert.True(first.ExitCode == 0, first.Stderr);
        var stopped = CheckpointLineage.Scan(Path.Combine(root, "run-test"), 3).Latest!;
        Assert.Equal(new Coordinator.Contracts.EpochPlan(5, 0, position), stopped.EpochPlan);

        var unlimited = spec.Also(p => File.WriteAllText(p, File.ReadAllText(p).Replace("  maxSteps: 5\n", "")));
        var resumed = await ClusterCli.RunAsync(Timeout, "run", unlimited, "--workers", after.ToString(), "--json");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains($"resuming from checkpoint {stopped.CheckpointId} at step 5 (epoch 1, position {position})", resumed.Stderr);
        var summary = LastJsonLine(resumed.Stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(steps, summary.GetProperty("steps").GetInt64()); // the rest of the epoch, partitioned among the new world
        Assert.Equal(new Coordinator.Contracts.EpochPlan(5, 2, 0), CheckpointLineage.Scan(Path.Combine(root, "run-test"), 3).Latest!.EpochPlan);
    }

    [Fact]
    public async Task Failing_rank_fails_the_run_and_is_named()
    {
        var spec = WriteSpec(16).Replace("lr: 0.05", "lr: 1e30");
        File.WriteAllText(spec, File.ReadAllText(spec).Replace("lr: 0.05", "lr: 1e30").Replace("seed: 5", "seed: 5\n  nanTolerance: 0"));
        var (code, stdout, stderr) = await ClusterCli.RunAsync(Timeout, "run", spec, "--workers", "2", "--json");
        Assert.Equal(1, code);
        var summary = LastJsonLine(stdout);
        Assert.Equal("failed", summary.GetProperty("status").GetString());
        Assert.InRange(summary.GetProperty("failed_rank").GetInt32(), 0, 1);
        Assert.Contains("TrainingDivergedException", stderr);
    }

    [Fact]
    public async Task Job_past_its_timeout_is_killed_and_reported()
    {
        var spec = WriteSpec(16).Also(p => File.WriteAllText(p, File.ReadAllText(p).Replace("epochs: 2", "epochs: 100000")));
        var (code, stdout, stderr) = await ClusterCli.RunAsync(Timeout, "run", spec, "--workers", "2", "--timeout", "3", "--json");
        Assert.Equal(1, code);
        var summary = LastJsonLine(stdout);
        Assert.Equal("timed_out", summary.GetProperty("status").GetString());
        Assert.Contains("still running", summary.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Invalid_spec_is_rejected_with_line_number()
    {
        var spec = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(spec, "name: x\ntraining:\n  epochz: 3\n");
        var (code, _, stderr) = await ClusterCli.RunAsync(Timeout, "run", spec, "--workers", "2");
        Assert.Equal(2, code);
        Assert.Contains("line 3", stderr);
        Assert.Contains("epochz", stderr);
    }
}
