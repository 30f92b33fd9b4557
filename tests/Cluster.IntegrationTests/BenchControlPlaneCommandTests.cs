using System.Text.Json;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>`cluster bench control-plane` at a small size: the real CLI, a silo process of its own, a real redis-server
/// or memory storage, simulated ranks calling the production job grain. Asserts the shape of today's design, not a time.</summary>
public sealed class BenchControlPlaneCommandTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task A_small_job_forms_beats_checkpoints_and_hears_its_cancel(string storage)
    {
        const int nodes = 3, nproc = 2;
        var result = await CliRunner.RunAsync(Deadline, "bench", "control-plane", "--nodes", $"{nodes}", "--nproc-per-node", $"{nproc}",
            "--storage", storage, "--clients", "2", "--beat-ms", "250", "--steady-s", "2", "--timeout-s", "60", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var last = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        var root = JsonDocument.Parse(last).RootElement;
        Assert.Equal(nodes * nproc, root.GetProperty("ranks").GetInt32());
        Assert.Equal(0, root.GetProperty("failed_joins").GetInt32());
        Assert.True(root.GetProperty("rendezvous_s").GetDouble() > 0, last);
        // Today every rank carries the whole peer table, and every rank calls the grain on each beat.
        Assert.Equal(nodes * nproc * nodes * nproc, root.GetProperty("peer_entries_handed_out").GetInt64());
        Assert.InRange(root.GetProperty("steady_calls_per_node_per_beat").GetDouble(), 0.5 * nproc, 1.5 * nproc);
        Assert.Equal(0, root.GetProperty("steady_errors").GetInt32());
        Assert.True(root.GetProperty("checkpoint_round_s").GetDouble() > 0, last);
        Assert.Equal(0, root.GetProperty("directive_missed").GetInt32());
        Assert.True(root.GetProperty("directive_p99_ms").GetDouble() > 0, last);
        var redisBytes = root.GetProperty("redis_bytes_per_rendezvous");
        if (storage == "redis") Assert.True(redisBytes.GetInt64() > 0, last);
        else Assert.Equal(JsonValueKind.Null, redisBytes.ValueKind);
        Assert.Contains("control plane: 3 nodes x 2 ranks", result.Stderr);
    }

    [Fact]
    public async Task Bad_sizes_are_refused_before_anything_starts()
    {
        var result = await CliRunner.RunAsync(Deadline, "bench", "control-plane", "--nodes", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--nodes x --nproc-per-node", result.Stderr);
    }
}
