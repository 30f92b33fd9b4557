using System.Diagnostics;
using System.Security.Cryptography;
using Cluster.Collectives;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>Bad input to the clustered-mode commands fails before anything starts, naming the problem.</summary>
public sealed class AgentSpecTests
{
    private const string Valid = """
        name: spec-check
        workers: { min: 1, max: 1 }
        training:
          model: { type: mlp }
          dataset: { type: synthetic, samples: 64, testSamples: 16, classes: 2, shape: [1, 4, 4] }
          epochs: 1
        """;

    [Theory]
    [InlineData("  epochs: 1", "  epochs: 1\n  bogus: 3", "unknown field 'bogus'", "line 7")]
    [InlineData("  epochs: 1", "  epochs: many", "training.epochs", "line 6")]
    [InlineData("workers: { min: 1, max: 1 }", "workers: { min: 3, max: 2 }", "workers.max", "line 2")]
    [InlineData("dataset: { type: synthetic, samples: 64, testSamples: 16, classes: 2, shape: [1, 4, 4] }",
        "dataset: { type: fashion-mnist, path: /nonexistent/fashion-mnist }", "training.dataset.path: '/nonexistent/fashion-mnist' does not exist", "line 5")]
    public async Task Invalid_spec_is_refused_before_contacting_redis(string from, string to, string problem, string line)
    {
        var dir = Directory.CreateTempSubdirectory("cluster-spec-");
        try
        {
            var spec = Path.Combine(dir.FullName, "job.yaml");
            await File.WriteAllTextAsync(spec, Valid.Replace(from, to, StringComparison.Ordinal));
            var port = ClusterTestPorts.Next(); // nothing listens: a Redis contact would fail differently
            var submit = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), "submit", spec, "--redis", $"127.0.0.1:{port}");
            Assert.True(submit.ExitCode == 2, submit.ToString());
            Assert.Contains(problem, submit.Stderr);
            Assert.Contains(line, submit.Stderr);
            Assert.DoesNotContain("Redis", submit.Stderr);

            var run = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), [.. AgentRunTests.RunVerb, spec, "--workers", "1"]);
            Assert.True(run.ExitCode == 2, run.ToString());
            Assert.Contains(problem, run.Stderr);
            Assert.DoesNotContain("embedded coordinator", run.Stdout + run.Stderr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("status")]
    [InlineData("agent")]
    public async Task Unreachable_redis_fails_within_seconds_naming_the_endpoint(string command)
    {
        var port = ClusterTestPorts.Next();
        var clock = Stopwatch.StartNew();
        var result = await CliRunner.RunAsync(TimeSpan.FromSeconds(60), command, "--redis", $"127.0.0.1:{port}");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Redis at 127.0.0.1:{port} is not reachable", result.Stderr);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0, 30);
    }

    [Fact]
    public async Task A_peer_with_a_wrong_job_secret_is_refused_by_the_collectives()
    {
        using var a = CommunicatorListener.Bind("127.0.0.1", 0);
        using var b = CommunicatorListener.Bind("127.0.0.1", 0);
        var peers = new List<PeerInfo> { new(0, "127.0.0.1", a.Port, "a"), new(1, "127.0.0.1", b.Port, "b") };
        CommunicatorOptions Options(int rank, byte[] secret) => new()
        {
            JobId = "secret-job", Generation = 1, Rank = rank, Peers = peers, Secret = secret, ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        var good = Communicator.CreateAsync(Options(0, RandomNumberGenerator.GetBytes(32)), a, CancellationToken.None);
        var impostor = Communicator.CreateAsync(Options(1, RandomNumberGenerator.GetBytes(32)), b, CancellationToken.None);
        var outcomes = await Task.WhenAll(Outcome(good), Outcome(impostor)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(outcomes, o => Assert.NotNull(o));
        Assert.Contains(outcomes, o => o is AuthenticationFailedException);
    }

    private static async Task<Exception?> Outcome(Task<ICommunicator> task)
    {
        try
        {
            await (await task).DisposeAsync();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
