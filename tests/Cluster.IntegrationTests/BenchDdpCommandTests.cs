using System.Text.Json;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>`cluster bench ddp` end to end: real rank processes train the synthetic example in alternating blocks with
/// and without the gradient all-reduce and report the per-step figures.</summary>
public sealed class BenchDdpCommandTests
{
    private static string Smoke => Path.Combine(RepoPaths.Root, "examples", "synthetic-smoke.yaml");

    [Fact]
    public async Task Reports_overhead_data_wait_and_checkpoint_stall()
    {
        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(4), "bench", "ddp", Smoke, "--workers", "2", "--steps", "6",
            "--warmup", "2", "--rounds", "1", "--block", "2", "--checkpoint-every", "3", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var last = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        using var doc = JsonDocument.Parse(last);
        var root = doc.RootElement;
        Assert.Equal("ddp", root.GetProperty("bench").GetString());
        Assert.Equal(2, root.GetProperty("workers").GetInt32());
        Assert.Equal(6, root.GetProperty("steps").GetInt32());
        Assert.Equal(2, root.GetProperty("block_steps").GetInt32());
        Assert.True(root.GetProperty("sync_step_ms").GetDouble() > 0, last);
        Assert.True(root.GetProperty("nosync_step_ms").GetDouble() > 0, last);
        Assert.True(root.GetProperty("sync_step_median_ms").GetDouble() > 0, last);
        Assert.True(root.GetProperty("nosync_step_median_ms").GetDouble() > 0, last);
        Assert.True(root.GetProperty("gradient_sync_ms").GetDouble() > 0, last);
        // Half the steps skip the all-reduce, so per step that ran it the call takes longer than averaged over all steps.
        Assert.True(root.GetProperty("gradient_sync_ms_per_synced_step").GetDouble() > root.GetProperty("gradient_sync_ms").GetDouble(), last);
        Assert.True(root.GetProperty("compute_ms").GetDouble() > 0, last);
        Assert.InRange(root.GetProperty("data_wait_fraction_max").GetDouble(), 0, 1);
        // Steps 3, 6 and 8 of 2 warm-up + 6 timed steps (the last is also the max-steps save, counted once).
        Assert.Equal(3, root.GetProperty("checkpoint_saves").GetInt32());
        Assert.True(root.GetProperty("checkpoint_stall_ms").GetDouble() > 0, last);
        Assert.Contains("communication overhead", result.Stderr);
        // The static launcher gave the ranks the malloc settings (a value already in this environment would have won).
        Assert.Contains($"glibc malloc: MALLOC_ARENA_MAX={Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") ?? "1"} ", result.Stderr);
    }

    [Theory]
    [InlineData("--steps", "0", "--steps must be >= 1")]
    [InlineData("--workers", "0", "--workers must be in [1, 64]")]
    [InlineData("--checkpoint-every", "-1", "--checkpoint-every must be >= 0")]
    [InlineData("--block", "0", "--block must be >= 1")]
    public async Task Bad_input_fails_with_a_message_naming_the_option(string option, string value, string message)
    {
        var result = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), "bench", "ddp", Smoke, option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }

    [Fact]
    public async Task Unknown_spec_field_is_refused()
    {
        var spec = Path.Combine(Path.GetTempPath(), $"bench-ddp-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(spec, (await File.ReadAllTextAsync(Smoke)).Replace("epochs: 2", "epochz: 2"));
        try
        {
            var result = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), "bench", "ddp", spec);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("epochz", result.Stderr);
        }
        finally
        {
            File.Delete(spec);
        }
    }
}
