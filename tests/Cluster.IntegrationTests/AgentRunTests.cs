using System.Text.Json;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>`cluster run --workers N` on the embedded coordinator: in-process silo and agent, real rank processes.</summary>
[Collection(AgentProcessesCollection.Name)]
public sealed class AgentRunTests
{
    public static readonly string[] RunVerb = ["run"];

    [Fact]
    public async Task Fashion_mnist_on_two_workers_through_the_embedded_coordinator_reaches_88_percent()
    {
        var dir = Directory.CreateTempSubdirectory("cluster-run-fm-");
        try
        {
            // Fewer samples and epochs than the example so it fits the test budget on 2 cores.
            var yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "examples", "fashion-mnist.yaml"))
                .Replace("epochs: 8", "epochs: 2\n  subsetTrain: 36000\n  subsetTest: 5000", StringComparison.Ordinal)
                .Replace("warmupSteps: 200", "warmupSteps: 50", StringComparison.Ordinal);
            yaml = string.Join('\n', yaml.Split('\n').Where(l => !l.StartsWith("checkpoint:", StringComparison.Ordinal)));
            var spec = Path.Combine(dir.FullName, "fm.yaml");
            await File.WriteAllTextAsync(spec, yaml);

            var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(6), [.. RunVerb, spec, "--workers", "2", "--json", "--logs", Path.Combine(dir.FullName, "logs")]);

            Assert.True(result.ExitCode == 0, result.ToString());
            using var doc = JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]);
            var s = doc.RootElement;
            Assert.Equal("completed", s.GetProperty("status").GetString());
            Assert.Equal(2, s.GetProperty("epochs").GetInt32());
            Assert.True(s.GetProperty("steps").GetInt64() > 0);
            Assert.InRange(s.GetProperty("test_accuracy").GetDouble(), 0.88, 1.0);
            Assert.True(s.GetProperty("test_loss").GetDouble() > 0);
            Assert.True(s.GetProperty("samples_per_sec").GetDouble() > 0);
            Assert.True(s.GetProperty("wall_seconds").GetDouble() > 0);
            Assert.Contains("through an embedded coordinator", result.Stderr);
            Assert.Single(Directory.GetFiles(Path.Combine(dir.FullName, "logs"), "rank-1.log", SearchOption.AllDirectories));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_failing_rank_fails_the_embedded_run_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory("cluster-run-bad-");
        try
        {
            // The csv dataset's files exist (validation passes) but hold no usable rows, so every rank fails while loading.
            var csv = Path.Combine(dir.FullName, "data.csv");
            await File.WriteAllTextAsync(csv, "not-an-image.png,0\n");
            var spec = Path.Combine(dir.FullName, "bad.yaml");
            await File.WriteAllTextAsync(spec, $$"""
                name: bad-data
                training:
                  model: { type: mlp }
                  dataset: { type: csv, path: {{csv}}, testPath: {{csv}}, classes: 2, shape: [1, 8, 8] }
                """);
            var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(2), [.. RunVerb, spec, "--workers", "2", "--json", "--logs", Path.Combine(dir.FullName, "logs")]);
            Assert.Equal(1, result.ExitCode);
            using var doc = JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]);
            Assert.Equal("failed", doc.RootElement.GetProperty("status").GetString());
            Assert.Matches(@"rank [01] exited with code 1", doc.RootElement.GetProperty("error").GetString());
            Assert.True(doc.RootElement.GetProperty("failed_rank").GetInt32() is 0 or 1);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
