using System.Text.Json;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>`cluster bench step` end to end: the real CLI process, real TorchSharp training steps.</summary>
public sealed class BenchStepCommandTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("cnn", "fp32")]
    [InlineData("cnn", "bf16")]
    [InlineData("mlp", "fp32")]
    public async Task Synthetic_run_prints_a_json_summary_with_positive_timings(string model, string precision)
    {
        var result = await CliRunner.RunAsync(Deadline, "bench", "step", "--model", model, "--precision", precision,
            "--data", "synthetic", "--steps", "3", "--warmup", "1", "--batch", "16", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var last = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        using var doc = JsonDocument.Parse(last);
        var root = doc.RootElement;
        Assert.Equal("torchsharp", root.GetProperty("framework").GetString());
        Assert.Equal(model, root.GetProperty("model").GetString());
        Assert.Equal(precision, root.GetProperty("precision").GetString());
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal(16, root.GetProperty("batch").GetInt32());
        Assert.Equal(3, root.GetProperty("steps").GetInt32());
        foreach (var field in new[] { "step_ms_median", "step_ms_mean", "step_ms_min", "forward_ms_median", "backward_ms_median", "optimizer_ms_median" })
            Assert.True(root.GetProperty(field).GetDouble() > 0, $"{field} in {last}");
        var conv1 = root.GetProperty("conv1_forward_ms_median");
        if (model == "cnn") Assert.True(conv1.GetDouble() > 0, last);
        else Assert.Equal(JsonValueKind.Null, conv1.ValueKind);
        Assert.True(root.GetProperty("managed_bytes_per_step").GetDouble() >= 0);
        Assert.Contains("median ms", result.Stderr);
        Assert.Contains("# glibc malloc: MALLOC_ARENA_MAX=", result.Stderr); // says which allocator settings the figures were taken with
    }

    [Fact]
    public async Task Omp_wait_policy_reaches_libtorch_environment_and_two_threads_run()
    {
        var result = await CliRunner.RunAsync(Deadline, "bench", "step", "--threads", "2", "--omp-wait", "passive",
            "--data", "synthetic", "--steps", "2", "--warmup", "1", "--batch", "8", "--dispose-scope", "--trainer-extras", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1]);
        Assert.Equal("passive", doc.RootElement.GetProperty("omp_wait_policy").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("threads").GetInt32());
        Assert.True(doc.RootElement.GetProperty("trainer_extras").GetBoolean());
        Assert.Contains("tensors left undisposed per step", result.Stderr);
    }

    [Theory]
    [InlineData("--omp-wait", "sometimes", "--omp-wait 'sometimes'")]
    [InlineData("--threads", "0", "--threads")]
    [InlineData("--model", "vgg", "--model 'vgg'")]
    [InlineData("--kernel-size", "4", "--kernel-size")]
    [InlineData("--steps", "0", "--steps")]
    [InlineData("--precision", "fp16", "--precision 'fp16'")]
    public async Task Bad_input_exits_2_naming_the_option(string option, string value, string message)
    {
        var result = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), "bench", "step", "--data", "synthetic", option, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr);
    }
}
