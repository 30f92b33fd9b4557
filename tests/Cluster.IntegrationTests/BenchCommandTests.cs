using System.Text.Json;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>`cluster bench allreduce` end to end: real rank processes, real sockets / shared memory.</summary>
public sealed class BenchCommandTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData("tcp", 2, "float32", "sum")]
    [InlineData("shm", 2, "float32", "sum")]
    [InlineData("mixed", 4, "int64", "max")]
    [InlineData("tcp", 3, "bfloat16", "avg")]
    public async Task AllReduce_reports_checked_results_per_size(string transport, int ranks, string dtype, string op)
    {
        // 1004 bytes (odd element counts, not divisible by the rank count) and 260K (above the small-message threshold).
        var sizes = dtype is "int64" ? "4K,1000,260K" : "4K,1004,260K";
        var result = await CliRunner.RunAsync(Deadline, "bench", "allreduce", "--ranks", ranks.ToString(), "--sizes", sizes,
            "--transport", transport, "--dtype", dtype, "--op", op, "--iterations", "3", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Length);
        var expectedBytes = sizes.Split(',').Select(s => s.EndsWith('K') ? long.Parse(s[..^1]) * 1024 : long.Parse(s)).ToArray();
        for (var i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var root = doc.RootElement;
            Assert.Equal("allreduce", root.GetProperty("op").GetString());
            Assert.Equal(transport, root.GetProperty("transport").GetString());
            Assert.Equal(ranks, root.GetProperty("ranks").GetInt32());
            Assert.Equal(expectedBytes[i], root.GetProperty("bytes").GetInt64());
            Assert.Equal("ok", root.GetProperty("check").GetString());
            Assert.True(root.GetProperty("ms").GetDouble() > 0);
            Assert.True(root.GetProperty("busbw_gbps").GetDouble() > 0);
            Assert.True(root.GetProperty("memcpy_gbps").GetDouble() > 0);
        }
    }

    [Fact]
    public async Task Compressed_float32_all_reduce_is_checked()
    {
        var result = await CliRunner.RunAsync(Deadline, "bench", "allreduce", "--ranks", "2", "--sizes", "1M",
            "--compress", "--iterations", "3", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout.Trim());
        Assert.True(doc.RootElement.GetProperty("compressed").GetBoolean());
        Assert.Equal("ok", doc.RootElement.GetProperty("check").GetString());
    }

    [Theory]
    [InlineData("--sizes", "6", "not a multiple of the element size 4")]
    [InlineData("--sizes", "4Q", "is not a size")]
    [InlineData("--transport", "udp", "is not one of tcp, shm, auto, mixed")]
    [InlineData("--ranks", "0", "--ranks must be between 1 and 64")]
    public async Task Bad_input_fails_with_a_message_naming_the_option(string option, string value, string message)
    {
        var result = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), "bench", "allreduce", option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }
}
