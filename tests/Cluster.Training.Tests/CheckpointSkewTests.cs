using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Xunit;

namespace Cluster.Training.Tests;

/// <summary>Version skew of persisted state: a checkpoint written by an older build (commit d0a3cbf, whose trainer
/// progress has no <c>scheduleWorldSize</c>) is found, verified and resumed by this build, on another world size.</summary>
public sealed class CheckpointSkewTests : IDisposable
{
    private static readonly string Fixture = Path.Combine(RepoPaths.Root, "tests", "Cluster.Training.Tests", "Fixtures", "skew-d0a3cbf");
    private readonly string dir = Directory.CreateTempSubdirectory("t1-skew-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task A_checkpoint_an_older_build_wrote_is_resumed_by_this_one()
    {
        var old = Path.Combine(Fixture, "skew-test", "ckpt-00000001");
        using (var progress = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(old, "trainer.json"))))
        {
            Assert.False(progress.RootElement.TryGetProperty("scheduleWorldSize", out _)); // really the older format
            Assert.Equal(2, progress.RootElement.GetProperty("worldSize").GetInt32());
        }
        var copy = Path.Combine(dir, "skew-test", "ckpt-00000001");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(old)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var spec = Path.Combine(dir, "spec.yaml");
        File.WriteAllText(spec, File.ReadAllText(Path.Combine(Fixture, "spec.yaml")).Replace("CHECKPOINT_DIR", dir));

        var resumed = await ClusterCli.RunAsync(TimeSpan.FromMinutes(2), "run", spec, "--workers", "1", "--json");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resuming from checkpoint 1 at step 4 (epoch 1, position 64)", resumed.Stderr);
        var last = resumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        var summary = JsonDocument.Parse(last).RootElement;
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(4 + (96 - 64) / 16 + 96 / 16, summary.GetProperty("steps").GetInt64()); // one rank keeps the starting world's global batch, 2 × 8
        var final = CheckpointLineage.Scan(Path.Combine(dir, "skew-test"), 3).Latest!;
        Assert.True(final.Final);
        using var written = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(final.Directory, "trainer.json")));
        Assert.Equal(2, written.RootElement.GetProperty("scheduleWorldSize").GetInt32()); // the schedule kept the job's starting world
    }
}
