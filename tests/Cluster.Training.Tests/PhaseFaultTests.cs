using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Training.Tests;

/// <summary>
/// `kill -9` of one rank at a chosen phase of a step, on the embedded default with 2 ranks: the ranks run the test
/// project's rank host (`cluster run --rank-host`: the product's CoordinatedRank with a communicator that SIGKILLs its
/// own process at the planned phase, see Cluster.Training.FaultyRank), so no switch in product code picks the moment.
/// Each run records the phase it hit; the job completes with every sample trained exactly once.
/// </summary>
public sealed class PhaseFaultTests(ITestOutputHelper output) : IDisposable
{
    private const int Epochs = 100; // long enough (about 1,200 steps) for the replacement to be admitted before the end
    private const int Samples = 384;
    private readonly string dir = Directory.CreateTempSubdirectory("t1-phase-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("allreduce", "1:allreduce@30", 1)] // inside the gradient all-reduce of step 30
    [InlineData("vote", "1:vote@30", 1)] // after that all-reduce returned the vote, before the optimizer step
    [InlineData("checkpoint", "0:checkpoint@2", 0)] // while rank 0 writes the files of an uncommitted checkpoint
    [InlineData("transfer", "1:allreduce@30;1:transfer", 1)] // the replacement dies while it receives the survivor's state
    public async Task A_rank_killed_in_each_phase_is_replaced_and_every_sample_is_trained_exactly_once(string phase, string plan, int victim)
    {
        var name = $"phase-{phase}{Random.Shared.Next(100_000, 1_000_000)}";
        var root = Path.Combine(dir, "ckpt", name);
        var audit = Path.Combine(dir, "audit");
        var markers = Path.Combine(dir, "markers");
        var spec = Path.Combine(dir, $"{name}.yaml");
        File.WriteAllText(spec, $$"""
            name: {{name}}
            workers: { minRanks: 1 }
            training:
              model: { type: mlp, dropout: 0 }
              dataset: { type: synthetic, samples: {{Samples}}, testSamples: 128, classes: 4, shape: [1, 8, 8], noise: 0.6 }
              epochs: {{Epochs}}
              batchSize: 16
              optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
              seed: 5
              audit: {{audit}}
            checkpoint: { dir: {{Path.Combine(dir, "ckpt")}}, intervalSteps: 5, keepLast: 2 }
            restart: { backoffSeconds: 0.5 }
            """);
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
        var epochs = Cluster.Training.Audit.SampleAuditCheck.Check(audit, Samples, Enumerable.Range(0, Epochs));
        Assert.All(epochs, e => Assert.True(e is { Trained: Samples, Missing: 0, Duplicated: 0 }, e.ToString()));
    }
}
