using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Training.Tests;

/// <summary>
/// `kill -9` of one rank at a chosen phase of a step, on the embedded default with 2 ranks: the ranks run the test
/// project's rank host (`cluster run --rank-host`: the product's CoordinatedRank with a communicator that SIGKILLs its
/// own process at the planned phase, see Cluster.Training.FaultyRank), so no switch in product code picks the moment.
/// Each run records the phase it hit; the job never shrinks (the survivor waits for its replacement), completes with
/// every sample trained exactly once, and ends bit-identical to an uninterrupted run of the same spec.
/// </summary>
public sealed class PhaseFaultTests(ITestOutputHelper output) : IDisposable
{
    private const int Epochs = 100; // long enough (about 1,200 steps) for the replacement to be admitted before the end
    private const int Samples = 384;
    private readonly string dir = Directory.CreateTempSubdirectory("t1-phase-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The spec of every run here: two ranks that never shrink (a survivor waits for its replacement).</summary>
    private string WriteSpec(string name, string checkpoints, string? audit) => WriteText(Path.Combine(dir, $"{Path.GetFileName(checkpoints)}.yaml"), $$"""
        name: {{name}}
        workers: { min: 1, max: 1, nprocPerNode: 2 }
        training:
          model: { type: mlp, dropout: 0 }
          dataset: { type: synthetic, samples: {{Samples}}, testSamples: 128, classes: 4, shape: [1, 8, 8], noise: 0.6 }
          epochs: {{Epochs}}
          batchSize: 16
          optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
          # A schedule with a position: a rank that takes a state must take its learning rate too.
          schedule: { type: cosine, warmupSteps: 20, minLr: 0.01 }
          seed: 5
          {{(audit is null ? "" : $"audit: {audit}")}}
        checkpoint: { dir: {{checkpoints}}, intervalSteps: 5, keepLast: 2 }
        restart: { backoffSeconds: 0.5, waitSeconds: 60 }
        """);

    private static string WriteText(string path, string text)
    {
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The final model and optimizer files of an uninterrupted run of the same spec (run once per test process, for every case).</summary>
    private static readonly SemaphoreSlim ReferenceGate = new(1, 1);
    private static (byte[] Model, byte[] Optimizer)? reference;

    private async Task<(byte[] Model, byte[] Optimizer)> ReferenceAsync(string name)
    {
        await ReferenceGate.WaitAsync();
        try
        {
            if (reference is { } known) return known;
            var root = Path.Combine(dir, "reference");
            var (code, _, stderr) = await ClusterCli.RunAsync(TimeSpan.FromMinutes(3), "run", WriteSpec(name, root, audit: null), "--workers", "2", "--json");
            Assert.True(code == 0, stderr);
            var final = CheckpointLineage.Scan(Path.Combine(root, name), 2).Latest!;
            Assert.True(final.Final);
            reference = (File.ReadAllBytes(Path.Combine(final.Directory, "model.bin")), File.ReadAllBytes(Path.Combine(final.Directory, "optimizer.bin")));
            return reference.Value;
        }
        finally { ReferenceGate.Release(); }
    }

    [Theory]
    [InlineData("allreduce", "1:allreduce@30", 1)] // inside the gradient all-reduce of step 30
    [InlineData("vote", "1:vote@30", 1)] // after that all-reduce returned the vote, before the optimizer step
    [InlineData("checkpoint", "0:checkpoint@2", 0)] // while rank 0 writes the files of an uncommitted checkpoint
    [InlineData("transfer", "1:allreduce@30;1:transfer", 1)] // the replacement dies while it receives the survivor's state
    public async Task A_rank_killed_in_each_phase_is_replaced_the_run_is_bit_identical_to_an_uninterrupted_one_and_every_sample_is_trained_once(
        string phase, string plan, int victim)
    {
        const string name = "phase"; // one name: the reference run and every faulted run are the same job
        var checkpoints = Path.Combine(dir, "ckpt-" + phase);
        var root = Path.Combine(checkpoints, name);
        var audit = Path.Combine(dir, "audit-" + phase);
        var markers = Path.Combine(dir, "markers-" + phase);
        var spec = WriteSpec(name, checkpoints, audit);
        var host = Path.Combine(AppContext.BaseDirectory, "Cluster.Training.FaultyRank.dll");
        var env = new Dictionary<string, string>
        {
            ["FAULTY_RANK_PLAN"] = plan, ["FAULTY_RANK_MARKERS"] = markers, ["FAULTY_RANK_CHECKPOINTS"] = root,
        };
        var (code, stdout, stderr) = await ClusterCli.RunAsync(TimeSpan.FromMinutes(3), env, "run", spec, "--workers", "2", "--json", "--rank-host", host);
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(Epochs, summary.GetProperty("epochs").GetInt32());

        // The phase it hit, as the dying process wrote it down.
        var fired = File.ReadAllLines(Path.Combine(markers, $"fired-{victim}"));
        output.WriteLine("hit: " + string.Join(" | ", fired));
        Assert.Equal(plan.Split(';').Length, fired.Length);
        Assert.StartsWith(phase + " ", fired[^1]);
        Assert.Contains($"fault: local rank {victim} killed itself during {phase}", stderr);
        var recoveries = summary.GetProperty("recoveries").EnumerateArray().ToList();
        var losses = recoveries.Where(r => !r.GetProperty("admission").GetBoolean()).ToList();
        Assert.Equal(fired.Length, losses.Count); // one loss per kill, each recovered from
        Assert.All(losses, l => Assert.Contains("exited with code 137", l.GetProperty("reason").GetString()));
        if (phase == "checkpoint")
        {
            // The checkpoint being written when rank 0 died was never committed (the others were).
            var ckpt = fired[^1].Split(' ')[1].Split('/')[0];
            Assert.False(File.Exists(Path.Combine(root, ckpt, CheckpointFiles.ManifestFileName)), $"{ckpt} was committed although rank 0 died writing it");
        }
        if (phase == "transfer")
            Assert.Contains("state transfer", fired[^1]);

        var final = CheckpointLineage.Scan(root, 2).Latest!;
        Assert.True(final.Final);
        Assert.Equal(2, final.WorldSize); // the replacement trained to the end
        // The world size stayed 2 (the survivor waited), so every step was the same computation as without the kill: the
        // final model and optimizer state are bit-identical to an uninterrupted run's.
        var (model, optimizer) = await ReferenceAsync(name);
        Assert.True(model.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(final.Directory, "model.bin"))), "model.bin differs from the uninterrupted run's");
        Assert.True(optimizer.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(final.Directory, "optimizer.bin"))), "optimizer.bin differs from the uninterrupted run's");
        var epochs = Cluster.Training.Audit.SampleAuditCheck.Check(audit, Samples, Enumerable.Range(0, Epochs));
        Assert.All(epochs, e => Assert.True(e is { Trained: Samples, Missing: 0, Duplicated: 0 }, e.ToString()));
    }

    [Fact]
    public async Task A_rank_that_dies_before_it_attaches_is_started_again_and_the_job_forms_without_waiting_for_the_deadline()
    {
        const string name = "phase";
        var checkpoints = Path.Combine(dir, "ckpt-start");
        var markers = Path.Combine(dir, "markers-start");
        var spec = WriteSpec(name, checkpoints, audit: null);
        var host = Path.Combine(AppContext.BaseDirectory, "Cluster.Training.FaultyRank.dll");
        var env = new Dictionary<string, string> { ["FAULTY_RANK_PLAN"] = "1:start", ["FAULTY_RANK_MARKERS"] = markers };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // Before, the node waited for the dead rank to attach until the 300 s rendezvous deadline: 3 minutes is the bound.
        var (code, stdout, stderr) = await ClusterCli.RunAsync(TimeSpan.FromMinutes(3), env, "run", spec, "--workers", "2", "--json", "--rank-host", host);
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        output.WriteLine($"run with a rank lost before it attached: {watch.Elapsed.TotalSeconds:F1} s");
        Assert.Equal("start before it attached to its agent", Assert.Single(File.ReadAllLines(Path.Combine(markers, "fired-1"))));
        var summary = JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        // The restarted process took the dead one's place in the node's join: one generation, no recovery.
        Assert.Equal(1, summary.GetProperty("generation").GetInt64());
        Assert.Contains("local/1: rank 1 of 2, generation 1", stderr); // said by the second process: the first killed itself
        var final = CheckpointLineage.Scan(Path.Combine(checkpoints, name), 2).Latest!;
        var (model, _) = await ReferenceAsync(name);
        Assert.True(model.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(final.Directory, "model.bin"))), "model.bin differs from the uninterrupted run's");
    }
}
