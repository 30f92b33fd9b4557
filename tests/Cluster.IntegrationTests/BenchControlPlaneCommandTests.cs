using System.Text.Json;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>`cluster bench control-plane` at a small size: the real CLI, a silo process of its own, a real redis-server
/// or memory storage, simulated nodes (the real node-agent client code) calling the production job grain. Asserts the
/// shape of the design (calls per node, bytes per node), not a time.</summary>
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
            "--storage", storage, "--clients", "2", "--beat-ms", "250", "--steady-s", "2", "--warmup-s", "0", "--timeout-s", "60", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var last = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        var root = JsonDocument.Parse(last).RootElement;
        Assert.Equal(nodes * nproc, root.GetProperty("ranks").GetInt32());
        Assert.Equal(0, root.GetProperty("failed_joins").GetInt32());
        Assert.True(root.GetProperty("rendezvous_s").GetDouble() > 0, last);
        // The peer table is fetched once per node (one packed table each), and each node makes one call per beat.
        var table = root.GetProperty("peer_table_bytes_handed_out").GetInt64();
        Assert.True(table > 0 && table % nodes == 0, last);
        Assert.InRange(root.GetProperty("steady_calls_per_node_per_beat").GetDouble(), 0.7, 1.3);
        Assert.True(root.GetProperty("checkpoint_round_s").GetDouble() > 0, last);
        Assert.Equal(0, root.GetProperty("directive_missed").GetInt32());
        Assert.True(root.GetProperty("directive_p99_ms").GetDouble() > 0, last);
        // A rank lost mid-run: every survivor heard the regroup and got its rank in the next generation.
        Assert.Equal(0, root.GetProperty("recovery_missed").GetInt32());
        Assert.True(root.GetProperty("recovery_regroup_p99_ms").GetDouble() > 0, last);
        Assert.True(root.GetProperty("recovery_generation_formed_s").GetDouble() > 0, last);
        var redisBytes = root.GetProperty("redis_bytes_per_rendezvous");
        if (storage == "redis") Assert.True(redisBytes.GetInt64() > 0, last);
        else Assert.Equal(JsonValueKind.Null, redisBytes.ValueKind);
        Assert.Contains("control plane: 3 nodes x 2 ranks", result.Stderr);
    }

    [Fact]
    public async Task Cost_grows_with_nodes_not_ranks_one_call_per_node_per_beat_and_rendezvous_bytes_per_node()
    {
        // 100 nodes x 1 rank against 100 nodes x 8 ranks, Redis storage: calls and persisted bytes must not follow the ranks.
        var one = await RunAsync(100, 1);
        var eight = await RunAsync(100, 8);
        var (bytes1, bytes8) = (one.GetProperty("redis_bytes_per_rendezvous").GetInt64(), eight.GetProperty("redis_bytes_per_rendezvous").GetInt64());
        Assert.True(bytes8 <= 1.2 * bytes1, $"bytes persisted per rendezvous: 100 x 8 {bytes8}, 100 x 1 {bytes1}");
        foreach (var r in new[] { one, eight }) Assert.InRange(r.GetProperty("steady_calls_per_node_per_beat").GetDouble(), 0.7, 1.3);

        static async Task<JsonElement> RunAsync(int nodes, int nproc)
        {
            var result = await CliRunner.RunAsync(Deadline, "bench", "control-plane", "--nodes", $"{nodes}", "--nproc-per-node", $"{nproc}",
                "--storage", "redis", "--clients", "2", "--beat-ms", "500", "--steady-s", "2", "--warmup-s", "0", "--timeout-s", "60", "--json");
            Assert.True(result.ExitCode == 0, result.ToString());
            var last = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
            var root = JsonDocument.Parse(last).RootElement.Clone();
            Assert.Equal(0, root.GetProperty("failed_joins").GetInt32());
            return root;
        }
    }

    [Fact]
    public async Task Bad_sizes_are_refused_before_anything_starts()
    {
        var result = await CliRunner.RunAsync(Deadline, "bench", "control-plane", "--nodes", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--nodes x --nproc-per-node", result.Stderr);
    }
}
