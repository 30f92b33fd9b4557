using Cluster.Agent.Grains;
using Cluster.Agent.Node;
using Cluster.Agent.Rank;
using Cluster.Coordinator;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>The node agent in a real embedded silo, with stand-in rank processes (bash) instead of trainers.</summary>
public sealed class AgentNodeTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("cluster-node-").FullName;
    private IHost _host = null!;
    private IGrainFactory _grains = null!;

    private string Logs => Path.Combine(_root, "logs");

    public async Task InitializeAsync()
    {
        var gateway = ClusterTestPorts.Next();
        var clusterId = "node-test-" + Guid.NewGuid().ToString("N");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo
            .UseEmbeddedCoordinator(new EmbeddedCoordinatorOptions { SiloPort = ClusterTestPorts.Next(), GatewayPort = gateway, ClusterId = clusterId },
                new CoordinatorOptions { TickPeriod = TimeSpan.FromMilliseconds(200), SettleWindow = TimeSpan.Zero })
            .AddNodeAgent(new NodeAgentOptions
            {
                NodeId = "n0", NprocPerNode = 2, LogsDirectory = Logs, Gateway = $"127.0.0.1:{gateway}", ClusterId = clusterId, ServiceId = "cluster",
                // Stand-in rank: prints its environment-provided identity, then waits to be killed.
                WorkerCommand = ["bash", "-c", "echo \"rank process $CLUSTER_NODE_ID/$CLUSTER_LOCAL_RANK of $CLUSTER_JOB_ID via ${CLUSTER_AGENT_SOCKET##*.} coordinator '$CLUSTER_COORDINATOR'\"; exec sleep 300"],
                PollInterval = TimeSpan.FromMilliseconds(100),
            }));
        _host = builder.Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _host.StartAsync(cts.Token);
        _grains = _host.Services.GetRequiredService<IGrainFactory>();
    }

    public async Task DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await _host.StopAsync(cts.Token); }
        finally
        {
            _host.Dispose();
            Directory.Delete(_root, recursive: true);
        }
    }

    private async Task<(IJobGrain Job, string Secret)> SubmitAsync(string jobId, int nproc)
    {
        var spec = new JobSpecSummary(jobId, "name: x\n", 1, 1, nproc, 0, "", 1, 0, 1);
        var job = _grains.GetGrain<IJobGrain>(jobId);
        var secret = (await job.Submit(spec)).JobSecretBase64;
        await _grains.GetGrain<IJobDirectoryGrain>(JobDirectory.Key).Add(spec);
        return (job, secret);
    }

    [Fact]
    public async Task Agent_starts_the_job_ranks_with_their_identity_in_the_environment_logs_them_and_kills_them_on_cancel()
    {
        var (job, secret) = await SubmitAsync("node-job", 2);
        var agent = _host.Services.GetRequiredService<NodeAgent>();
        var logs = new[] { RankLogs.MemberLog(Logs, "node-job", "n0", 0), RankLogs.MemberLog(Logs, "node-job", "n0", 1) };
        await ClusterTestPoll.UntilAsync(() => Task.FromResult(logs.All(l => File.Exists(l) && File.ReadAllText(l).Contains("rank process")) ? "logged" : null),
            TimeSpan.FromSeconds(30), () => "both stand-in ranks to log");
        // A rank gets its agent's socket and no coordinator address: it speaks only to its agent.
        Assert.Contains("rank process n0/1 of node-job via sock coordinator ''", await File.ReadAllTextAsync(logs[1]));
        Assert.Equal(2, agent.LiveRanks);
        var pids = System.Diagnostics.Process.GetProcessesByName("sleep").Select(p => p.Id).Where(p => File.Exists($"/proc/{p}/environ")
            && File.ReadAllText($"/proc/{p}/environ").Contains("CLUSTER_JOB_ID=node-job")).ToList();
        Assert.Equal(2, pids.Count);
        foreach (var pid in pids) Assert.DoesNotContain(secret, await File.ReadAllTextAsync($"/proc/{pid}/cmdline")); // the secret travels only in the environment

        var cancelled = await job.Cancel("test");
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.True(await ClusterTestPoll.ProcessesGoneAsync(pids, TimeSpan.FromSeconds(10)), "ranks of a cancelled job are still alive");
        // The agent counts a rank as exited once its output is drained, a moment after the process is gone; none is restarted.
        await ClusterTestPoll.UntilAsync(() => Task.FromResult(agent.LiveRanks == 0 ? "none" : null), TimeSpan.FromSeconds(10), () => $"{agent.LiveRanks} rank(s) the agent still counts as alive");
        await Task.Delay(TimeSpan.FromSeconds(3)); // past the restart backoff (2 s): a cancelled job's ranks stay down
        Assert.Equal(0, agent.LiveRanks);
    }

    [Fact]
    public async Task Jobs_wider_than_the_node_are_not_started()
    {
        var (job, _) = await SubmitAsync("wide-job", 3);
        // A narrower job submitted after it is started: the agent has looked at (and skipped) the wide one by then.
        await SubmitAsync("narrow-job", 1);
        await ClusterTestPoll.UntilAsync(() => Task.FromResult(File.Exists(RankLogs.MemberLog(Logs, "narrow-job", "n0", 0)) ? "started" : null),
            TimeSpan.FromSeconds(30), () => "the narrow job's rank");
        Assert.False(Directory.Exists(RankLogs.JobDirectory(Logs, "wide-job")));
        Assert.Equal(JobState.Pending, (await job.GetStatus()).State);
    }

    [Fact]
    public void Rank_settings_name_the_missing_variable()
    {
        var env = new Dictionary<string, string>
        {
            [WorkerEnvironment.JobId] = "j", [WorkerEnvironment.JobSecret] = Convert.ToBase64String(new byte[32]), [WorkerEnvironment.NodeId] = "n",
            [WorkerEnvironment.LocalRank] = "1", ["CLUSTER_AGENT_SOCKET"] = "/tmp/a.sock",
        };
        // No coordinator address: a rank speaks only to its agent.
        var settings = RankSettings.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal(("n/1", "/tmp/a.sock"), (settings.MemberId, settings.AgentSocket));
        env.Remove(WorkerEnvironment.JobSecret);
        Assert.Contains(WorkerEnvironment.JobSecret, Assert.Throws<ArgumentException>(() => RankSettings.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
        env[WorkerEnvironment.JobSecret] = "not base64!";
        Assert.Contains("base64", Assert.Throws<ArgumentException>(() => RankSettings.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
        env[WorkerEnvironment.JobSecret] = Convert.ToBase64String(new byte[32]);
        env.Remove("CLUSTER_AGENT_SOCKET");
        Assert.Contains("CLUSTER_AGENT_SOCKET", Assert.Throws<ArgumentException>(() => RankSettings.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
        env["CLUSTER_AGENT_SOCKET"] = "/tmp/a.sock";
        env[WorkerEnvironment.JobSecret] = "not base64!";
        Assert.Contains("base64", Assert.Throws<ArgumentException>(() => RankSettings.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
    }
}
