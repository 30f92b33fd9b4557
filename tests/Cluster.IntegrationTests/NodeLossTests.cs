using System.Diagnostics;
using System.Text.Json;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.IntegrationTests;

/// <summary>
/// Node loss on separate hosts (<see cref="NetnsClusterFixture"/>: one agent and one rank per network namespace, Redis in
/// its own): kill -9 of an agent, of the agent whose silo hosts the job grain, and a cut link.
/// </summary>
[Collection(AgentProcessesCollection.Name)]
public sealed class NodeLossTests(NetnsClusterFixture cluster, ITestOutputHelper output) : IClassFixture<NetnsClusterFixture>, IAsyncLifetime
{
    private const int Samples = 960;
    private static readonly TimeSpan Cli = TimeSpan.FromSeconds(60);

    public Task InitializeAsync() => cluster.RestoreAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private IJobGrain Job(string id) => cluster.Client.Grains.GetGrain<IJobGrain>(id);

    private (string Spec, string Audit, string Root) WriteSpec(string name, int epochs)
    {
        var dir = Path.Combine(cluster.Root, name);
        Directory.CreateDirectory(dir);
        var spec = Path.Combine(dir, "job.yaml");
        File.WriteAllText(spec, $$"""
            name: {{name}}
            workers: { min: 3, max: 3, nprocPerNode: 1, minRanks: 2 }
            training:
              model: { type: mlp, dropout: 0 }
              dataset: { type: synthetic, samples: {{Samples}}, testSamples: 96, classes: 4, shape: [1, 8, 8] }
              epochs: {{epochs}}
              batchSize: 16
              optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
              seed: 3
              audit: {{Path.Combine(dir, "audit")}}
            checkpoint: { dir: {{Path.Combine(dir, "ckpt")}}, intervalSteps: 10, keepLast: 3 }
            """);
        return (spec, Path.Combine(dir, "audit"), Path.Combine(dir, "ckpt", name));
    }

    private async Task<string> SubmitAsync(string spec)
    {
        var result = await CliRunner.RunAsync(Cli, "submit", spec, "--redis", cluster.Redis);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Trim().Split('\n')[^1].Trim();
    }

    private Task<JobStatus> WaitForAsync(string jobId, Func<JobStatus, bool> condition, TimeSpan deadline, string what) =>
        ClusterTestPoll.UntilAsync(async () =>
        {
            try
            {
                var s = await Job(jobId).GetStatus();
                return condition(s) ? s : null;
            }
            catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException) { return null; } // a silo is gone: ask again
        }, deadline, () => $"job {jobId}: {what}\n{cluster.AgentOutput()}");

    private static int HostOf(string nodeId) => int.Parse(nodeId["node-".Length..], System.Globalization.CultureInfo.InvariantCulture);

    private async Task AuditExactlyOnceAsync(string audit, int epochs)
    {
        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(2), "audit", audit, "--samples", $"{Samples}", "--epochs", $"{epochs}", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]);
        Assert.True(doc.RootElement.GetProperty("exactly_once").GetBoolean(), result.ToString());
    }

    /// <summary>The manifests on disk are one chain: generations and steps never go back.</summary>
    private static void AssertOneChain(string root)
    {
        var manifests = Directory.GetDirectories(root).Order(StringComparer.Ordinal).Select(CheckpointFiles.TryRead).OfType<CheckpointManifest>().ToList();
        Assert.NotEmpty(manifests);
        for (var i = 1; i < manifests.Count; i++)
        {
            Assert.True(manifests[i].Generation >= manifests[i - 1].Generation && manifests[i].Step > manifests[i - 1].Step,
                $"checkpoint {manifests[i].CheckpointId} (generation {manifests[i].Generation}, step {manifests[i].Step}) after {manifests[i - 1].CheckpointId} (generation {manifests[i - 1].Generation}, step {manifests[i - 1].Step})");
        }
    }

    [Fact]
    public async Task Killing_an_agent_loses_its_node_the_job_goes_on_with_two_and_takes_a_fresh_agent_in()
    {
        const int epochs = 12;
        var (spec, audit, root) = WriteSpec("nodeloss", epochs);
        var jobId = await SubmitAsync(spec);
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint is not null && s.Step >= 12, TimeSpan.FromSeconds(120), "a committed checkpoint");
        // Not the coordinator's node (that is the failover test).
        var victim = running.Ranks.First(r => running.Coordinator is null || !running.Coordinator.StartsWith(cluster.Address(HostOf(r.NodeId)) + ":", StringComparison.Ordinal));
        var host = HostOf(victim.NodeId);
        var clock = Stopwatch.StartNew();
        cluster.KillAgent(host);

        var regrouped = await WaitForAsync(jobId, s => s.Generation == 2 && s.Recoveries is [.., { Seconds: not null }], TimeSpan.FromSeconds(30), "generation 2 trains");
        var record = regrouped.Recoveries![^1];
        output.WriteLine($"kill -9 of agent node-{host} -> first step of generation 2 seen at {clock.Elapsed.TotalSeconds:F2} s; decided {(record.DecidedAt - running.Recoveries?.LastOrDefault()?.DecidedAt)?.ToString() ?? ""}; {record.Reason}; decision -> step {record.Seconds:F2} s");
        Assert.Equal(2, record.WorldSize);
        Assert.DoesNotContain(regrouped.Ranks, r => r.NodeId == victim.NodeId);
        // Its rank died with it: the local channel's end closed and the rank stopped.
        Assert.True(await ClusterTestPoll.ProcessesGoneAsync([victim.Pid], TimeSpan.FromSeconds(10)), $"rank {victim.MemberId} (pid {victim.Pid}) outlived its agent");

        cluster.StartAgent(4);
        await cluster.WaitReadyAsync(4);
        var back = await WaitForAsync(jobId, s => s.Ranks.Count == 3 && s.Ranks.Any(r => r.NodeId == "node-4") && s.Recoveries is [.., { Admission: true, Seconds: not null }],
            TimeSpan.FromSeconds(60), "node-4 admitted");
        output.WriteLine($"node-4 admitted: {back.Recoveries![^1].Reason}, generation {back.Generation}, first step after {back.Recoveries[^1].Seconds:F2} s");

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(180), "completion");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{cluster.AgentOutput()}");
        Assert.Equal(3, done.LastCommittedCheckpoint!.WorldSize);
        await AuditExactlyOnceAsync(audit, epochs);
        AssertOneChain(root);
    }
}
