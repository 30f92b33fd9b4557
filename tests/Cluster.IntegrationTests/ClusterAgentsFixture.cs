using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Cluster.Agent.Client;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>
/// A real redis-server on a free 127.0.0.1 port and three `cluster agent` processes (node-0..2, own silo and gateway
/// ports, one rank per node), plus an in-process Orleans client for polling. Everything is killed on dispose.
/// </summary>
public sealed class ClusterAgentsFixture : IAsyncLifetime
{
    private readonly List<ClusterTestProcess> _agents = [];
    private ClusterTestProcess? _redis;

    public string Root { get; } = Directory.CreateTempSubdirectory("cluster-agents-").FullName;
    public int RedisPort { get; } = ClusterTestPorts.Next();
    public string Redis => $"127.0.0.1:{RedisPort}";
    public string Logs => Path.Combine(Root, "logs");
    internal IReadOnlyList<ClusterTestProcess> Agents => _agents;
    public CoordinatorClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var info = new ProcessStartInfo("redis-server");
        foreach (var a in new[] { "--port", RedisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            info.ArgumentList.Add(a);
        _redis = ClusterTestProcess.Start("redis-server", info);
        await ClusterTestPoll.UntilAsync(async () =>
        {
            if (_redis.HasExited) throw new InvalidOperationException($"redis-server exited: {_redis.Output}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", RedisPort);
                return "up";
            }
            catch (SocketException) { return null; }
        }, TimeSpan.FromSeconds(15), () => $"redis-server on port {RedisPort}");

        var env = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            _agents.Add(ClusterTestProcess.StartCli($"agent node-{i}", env, "agent", "--redis", Redis, "--advertise-host", "127.0.0.1",
                "--silo-port", ClusterTestPorts.Next().ToString(CultureInfo.InvariantCulture),
                "--gateway-port", ClusterTestPorts.Next().ToString(CultureInfo.InvariantCulture),
                "--logs", Logs, "--node-id", $"node-{i}", "--nproc-per-node", "1"));
        }
        foreach (var agent in _agents) await agent.WaitForOutputAsync("ready", TimeSpan.FromSeconds(90));
        Client = await CoordinatorClient.ConnectRedisAsync(Redis, "cluster", "cluster", TimeSpan.FromSeconds(30), CancellationToken.None);
    }

    /// <summary>A job YAML of 3 ranks (one per node) on synthetic data with a tiny MLP, 10 steps per epoch.</summary>
    public string WriteSpec(string name, int epochs, int checkpointInterval, int? minRanks = null, string restart = "")
    {
        Directory.CreateDirectory(Path.Combine(Root, name));
        var path = Path.Combine(Root, name, "job.yaml");
        File.WriteAllText(path, $$"""
            name: {{name}}
            workers: { min: 3, max: 3, nprocPerNode: 1{{(minRanks is { } m ? $", minRanks: {m}" : "")}} }
            training:
              model: { type: mlp, dropout: 0 }
              dataset: { type: synthetic, samples: 960, testSamples: 96, classes: 4, shape: [1, 8, 8] }
              epochs: {{epochs}}
              batchSize: 32
              optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
              seed: 1
            checkpoint: { dir: {{Path.Combine(Root, name, "ckpt")}}, intervalSteps: {{checkpointInterval}}, keepLast: 2 }
            {{restart}}
            """);
        return path;
    }

    /// <summary>The lineage root of the spec written with <paramref name="name"/>: checkpoint.dir/name.</summary>
    public string CheckpointRoot(string name) => Path.Combine(Root, name, "ckpt", name);

    public async Task DisposeAsync()
    {
        if (Client is not null) await Client.DisposeAsync();
        foreach (var agent in _agents) agent.Dispose();
        _redis?.Dispose();
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* best effort */ }
    }
}
