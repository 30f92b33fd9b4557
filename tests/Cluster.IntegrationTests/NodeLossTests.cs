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
public sealed partial class NodeLossTests(NetnsClusterFixture cluster, ITestOutputHelper output) : IClassFixture<NetnsClusterFixture>, IAsyncLifetime
{
    private const int Samples = 960;
    private static readonly TimeSpan Cli = TimeSpan.FromSeconds(60);

    public Task InitializeAsync() => cluster.RestoreAsync();

    private readonly List<string> _submitted = [];

    /// <summary>A job a failed test left running is cancelled, so the next test has the agents to itself.</summary>
    public async Task DisposeAsync()
    {
        foreach (var id in _submitted)
        {
            try { await Job(id).Cancel("test over").WaitAsync(TimeSpan.FromSeconds(10)); }
            catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException or InvalidOperationException) { /* best effort */ }
        }
    }

    private IJobGrain Job(string id) => cluster.Client.Grains.GetGrain<IJobGrain>(id);

    private Cluster.Agent.Grains.IJobReportGrain Report(string id) => cluster.Client.Grains.GetGrain<Cluster.Agent.Grains.IJobReportGrain>(id);

    private (string Spec, string Audit, string Root) WriteSpec(string name, int epochs, string workers = "{ min: 3, max: 3, nprocPerNode: 1, minRanks: 2 }")
    {
        var dir = Path.Combine(cluster.Root, name);
        Directory.CreateDirectory(dir);
        var spec = Path.Combine(dir, "job.yaml");
        File.WriteAllText(spec, $$"""
            name: {{name}}
            workers: {{workers}}
            training:
              model: { type: mlp, dropout: 0 }
              dataset: { type: synthetic, samples: {{Samples}}, testSamples: 96, classes: 4, shape: [1, 8, 8] }
              epochs: {{epochs}}
              batchSize: 16
              optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
              seed: 3
              audit: {{Path.Combine(dir, "audit")}}
            checkpoint: { dir: {{Path.Combine(dir, "ckpt")}}, intervalSteps: 50, keepLast: 3 }
            """);
        return (spec, Path.Combine(dir, "audit"), Path.Combine(dir, "ckpt", name));
    }

    private async Task<string> SubmitAsync(string spec)
    {
        var result = await CliRunner.RunAsync(Cli, "submit", spec, "--redis", cluster.Redis);
        Assert.True(result.ExitCode == 0, result.ToString());
        var id = result.Stdout.Trim().Split('\n')[^1].Trim();
        _submitted.Add(id);
        return id;
    }

    private Task<JobStatus> WaitForAsync(string jobId, Func<JobStatus, bool> condition, TimeSpan deadline, string what) =>
        ClusterTestPoll.UntilAsync(async () =>
        {
            try
            {
                // Bounded: a call through the gateway of a killed silo waits for Orleans' response timeout otherwise.
                var s = await Job(jobId).GetStatus().WaitAsync(TimeSpan.FromSeconds(2));
                return condition(s) ? s : null;
            }
            catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException) { return null; } // a silo is gone: ask again
        }, deadline, () => $"job {jobId}: {what}\n{cluster.AgentOutput()}");

    /// <summary>True when the job grain is active on node <paramref name="nodeId"/>'s silo ("S10.213.7.11:11111:…").</summary>
    private bool HostsCoordinator(JobStatus s, string nodeId) =>
        s.Coordinator is { } silo && silo.Contains(cluster.Address(HostOf(nodeId)) + ":", StringComparison.Ordinal);

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
        const int epochs = 120; // long enough for an agent to start after the loss (about 10 s)
        var (spec, audit, root) = WriteSpec("nodeloss", epochs);
        var jobId = await SubmitAsync(spec);
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint is not null && s.Step >= 60, TimeSpan.FromSeconds(120), "a committed checkpoint");
        // Not the coordinator's node (that is the failover test).
        var victim = running.Ranks.First(r => !HostsCoordinator(running, r.NodeId));
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

    [Fact]
    public async Task Killing_the_agent_that_hosts_the_job_grain_moves_the_coordinator_and_the_job_completes()
    {
        const int epochs = 30;
        var (spec, audit, root) = WriteSpec("failover", epochs);
        var jobId = await SubmitAsync(spec);
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint is not null && s.Step >= 60 && s.Coordinator is not null, TimeSpan.FromSeconds(120), "a committed checkpoint");
        var host = running.Ranks.Select(r => r.NodeId).Where(n => HostsCoordinator(running, n)).Select(HostOf).SingleOrDefault();
        Assert.True(host > 0, $"the job grain is on {running.Coordinator}, not on an agent of the job");
        var clock = Stopwatch.StartNew();
        cluster.KillAgent(host);

        var moved = await WaitForAsync(jobId, s => s.Generation == 2 && s.Recoveries is [.., { Seconds: not null }] && s.Coordinator != running.Coordinator,
            TimeSpan.FromSeconds(30), "generation 2 trains under a coordinator on another silo");
        output.WriteLine($"kill -9 of node-{host} (coordinator {running.Coordinator}) -> generation 2 trains under {moved.Coordinator}: seen at {clock.Elapsed.TotalSeconds:F2} s; {moved.Recoveries![^1].Reason}");
        Assert.Equal(2, moved.Recoveries![^1].WorldSize);
        Assert.True(moved.LastCommittedCheckpoint!.CheckpointId >= running.LastCommittedCheckpoint!.CheckpointId, "the committed checkpoints came back from Redis");

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(180), "completion");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{cluster.AgentOutput()}");
        await AuditExactlyOnceAsync(audit, epochs);
        AssertOneChain(root);

        // What `status` and `run` show lives in Redis, not in a silo: every silo goes, the answers come back the same.
        var report = await Report(jobId).Get().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(report is { TotalSteps: > 0, Result: not null }, $"report before the restart: {report}");
        for (var i = 1; i <= 3; i++)
        {
            if (cluster.Agent(i) is not { HasExited: false } agent) continue;
            cluster.KillAgent(i);
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        for (var i = 1; i <= 3; i++) cluster.StartAgent(i);
        for (var i = 1; i <= 3; i++) await cluster.WaitReadyAsync(i);
        var again = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(60), "the job's status after every silo restarted");
        Assert.Equal(JobState.Completed, again.State);
        Assert.Equal(done.LastCommittedCheckpoint?.CheckpointId, again.LastCommittedCheckpoint?.CheckpointId);
        var reportAgain = await ClusterTestPoll.UntilAsync(async () =>
        {
            try { return await Report(jobId).Get().WaitAsync(TimeSpan.FromSeconds(2)); }
            catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException) { return null; }
        }, TimeSpan.FromSeconds(30), () => "the job report after every silo restarted");
        Assert.Equal(report, reportAgain);
    }

    [Fact]
    public async Task Cutting_a_nodes_link_for_ten_seconds_keeps_one_chain_and_the_node_comes_back()
    {
        const int epochs = 400; // long enough for a 10 s cut, an agent restart (about 10 s) and the rejoin
        var (spec, audit, root) = WriteSpec("partition", epochs);
        var jobId = await SubmitAsync(spec);
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint is not null && s.Step >= 60 && s.Coordinator is not null, TimeSpan.FromSeconds(120), "a committed checkpoint");
        // Not rank 0 (it writes the checkpoint files) and not the coordinator's node.
        var victim = running.Ranks.First(r => r.Rank != 0 && !HostsCoordinator(running, r.NodeId));
        var host = HostOf(victim.NodeId);
        var clock = Stopwatch.StartNew();
        var cutAt = DateTimeOffset.UtcNow;
        cluster.Cut(host, down: true);
        var regrouped = await WaitForAsync(jobId, s => s.Generation >= 2 && s.Ranks.All(r => r.NodeId != victim.NodeId) && s.Recoveries is [.., { Seconds: not null }],
            TimeSpan.FromSeconds(30), "the majority trains without the cut node");
        var cutRecord = regrouped.Recoveries![^1];
        output.WriteLine($"link of node-{host} down -> decided after {(cutRecord.DecidedAt - cutAt).TotalSeconds:F2} s, first step {cutRecord.Seconds:F2} s after the decision; seen at {clock.Elapsed.TotalSeconds:F2} s; {cutRecord.Reason}");
        await Task.Delay(TimeSpan.FromSeconds(10) - clock.Elapsed is { Ticks: > 0 } left ? left : TimeSpan.Zero);
        cluster.Cut(host, down: false);

        // Back on the link the node finds its silo declared dead; its agent exits and is started again (as systemd,
        // Kubernetes or compose's restart policy would), or its agent goes on: either way it is admitted again.
        var agent = cluster.Agent(host)!;
        var back = await ClusterTestPoll.UntilAsync(async () =>
        {
            if (ReferenceEquals(agent, cluster.Agent(host)) && agent.HasExited)
            {
                output.WriteLine($"agent node-{host} exited after the heal; started again");
                cluster.StartAgent(host);
            }
            try { return await Job(jobId).GetStatus().WaitAsync(TimeSpan.FromSeconds(2)) is { } s && (s.Ranks.Any(r => r.NodeId == victim.NodeId) || s.State.IsTerminal()) ? s : null; }
            catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException) { return null; }
        }, TimeSpan.FromSeconds(90), () => $"node-{host} admitted again\n{cluster.AgentOutput()}");
        Assert.Contains(back.Ranks, r => r.NodeId == victim.NodeId);
        output.WriteLine($"node-{host} rejoined at {clock.Elapsed.TotalSeconds:F2} s: {back.Recoveries![^1].Reason}");

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(240), "completion");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{cluster.AgentOutput()}");
        await AuditExactlyOnceAsync(audit, epochs);
        AssertOneChain(root);
        // The committed directories hold exactly their manifest's files: nothing written from the other side of the cut.
        foreach (var dir in Directory.GetDirectories(root))
        {
            if (CheckpointFiles.TryRead(dir) is not { } manifest) continue;
            var listed = manifest.Ranks.SelectMany(r => r.Files).Select(f => f.Name).Append(CheckpointFiles.ManifestFileName).ToHashSet(StringComparer.Ordinal);
            Assert.All(Directory.GetFiles(dir).Select(Path.GetFileName), f => Assert.Contains(f!, listed));
        }
    }
}
