using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Cluster.Agent.Client;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>
/// Separate hosts on one machine (`deploy/netns.sh`): namespace 0 runs a real redis-server (AOF on), namespaces 1..4
/// each run at most one `cluster agent` (node-i, host id node-i: no shared memory between nodes, one rank per node) at
/// their own address; the test process reaches them over the bridge. Agents 1..3 start with the fixture; tests kill, cut,
/// stop and start agents and must leave 1..3 running. Dispose kills every process in the namespaces and deletes them, the
/// veths and the bridge (`netns.sh down`), also after a failed test.
/// </summary>
public sealed class NetnsClusterFixture : IAsyncLifetime
{
    public const int Hosts = 5;
    private readonly ClusterTestProcess?[] _agents = new ClusterTestProcess?[Hosts];
    private ClusterTestProcess? _redis;

    public string Name { get; } = "cn" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
    public string Subnet { get; } = $"10.213.{Random.Shared.Next(1, 254)}";
    public string Root { get; } = Directory.CreateTempSubdirectory("cluster-netns-").FullName;
    public string Logs => Path.Combine(Root, "logs");
    public string Redis => $"{Address(0)}:6379";
    public CoordinatorClient Client { get; private set; } = null!;

    /// <summary>The address of namespace <paramref name="host"/>.</summary>
    public string Address(int host) => $"{Subnet}.{10 + host}";

    public string Namespace(int host) => $"{Name}-{host}";

    internal ClusterTestProcess? Agent(int host) => _agents[host];

    public async Task InitializeAsync()
    {
        Script("up", Hosts.ToString(CultureInfo.InvariantCulture), Subnet);
        try
        {
            await StartRedisAsync();
            for (var i = 1; i <= 3; i++) StartAgent(i);
            for (var i = 1; i <= 3; i++) await WaitReadyAsync(i);
            Client = await CoordinatorClient.ConnectRedisAsync(Redis, "cluster", "cluster", TimeSpan.FromSeconds(30), CancellationToken.None);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartRedisAsync()
    {
        _redis = ClusterTestProcess.Start("redis-server", InNamespace(0, "redis-server", "--bind", Address(0), "--port", "6379", "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--dir", Root, "--protected-mode", "no"));
        await ClusterTestPoll.UntilAsync(async () =>
        {
            if (_redis.HasExited) throw new InvalidOperationException($"redis-server exited: {_redis.Output}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(Address(0), 6379);
                return "up";
            }
            catch (SocketException) { return null; }
        }, TimeSpan.FromSeconds(15), () => $"redis-server at {Redis}");
    }

    /// <summary>
    /// kill -9 of redis-server, <paramref name="down"/> without it, then the same server again on the same append-only file
    /// (appendfsync always: nothing acknowledged is lost).
    /// </summary>
    public async Task RestartRedisAsync(TimeSpan down)
    {
        using (var p = Process.GetProcessById(_redis!.Pid)) p.Kill();
        await _redis.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _redis.Dispose();
        await Task.Delay(down);
        await StartRedisAsync();
    }

    /// <summary>Starts `cluster agent` node-<paramref name="host"/> in its namespace (not waiting for it).</summary>
    public void StartAgent(int host)
    {
        if (_agents[host] is { HasExited: false }) throw new InvalidOperationException($"agent node-{host} runs already");
        _agents[host]?.Dispose();
        _agents[host] = ClusterTestProcess.Start($"agent node-{host}", InNamespace(host, "dotnet", CliRunner.CliDll, "agent", "--redis", Redis,
            "--advertise-host", Address(host), "--node-id", $"node-{host}", "--host-id", $"node-{host}", "--nproc-per-node", "1", "--logs", Logs));
    }

    public Task WaitReadyAsync(int host) => _agents[host]!.WaitForOutputAsync($"agent node-{host} ready", TimeSpan.FromSeconds(90));

    /// <summary>SIGKILL of the agent process alone (its ranks must notice by themselves).</summary>
    public int KillAgent(int host)
    {
        var agent = _agents[host] ?? throw new InvalidOperationException($"agent node-{host} is not running");
        using (var p = Process.GetProcessById(agent.Pid)) p.Kill();
        return agent.Pid;
    }

    /// <summary>SIGTERM to the agent process: a graceful stop (its node drains).</summary>
    public void TerminateAgent(int host)
    {
        var agent = _agents[host] ?? throw new InvalidOperationException($"agent node-{host} is not running");
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", agent.Pid.ToString(CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit(10_000);
    }

    /// <summary>Takes namespace <paramref name="host"/>'s link down (true) or up again.</summary>
    public void Cut(int host, bool down) => Script(down ? "cut" : "heal", host.ToString(CultureInfo.InvariantCulture));

    /// <summary>Agents 1..3 running and ready again (after a test killed or stopped some); others stopped.</summary>
    public async Task RestoreAsync()
    {
        for (var i = 1; i < Hosts; i++) Cut(i, down: false);
        for (var i = 4; i < Hosts; i++) { _agents[i]?.Dispose(); _agents[i] = null; }
        for (var i = 1; i <= 3; i++)
        {
            if (_agents[i] is { HasExited: false }) continue;
            StartAgent(i);
            await WaitReadyAsync(i);
        }
    }

    public string AgentOutput() => string.Join("\n", _agents.Where(a => a is not null).Select(a => $"--- {a!.Name}\n{a.Output}"));

    private ProcessStartInfo InNamespace(int host, string file, params string[] arguments)
    {
        var info = new ProcessStartInfo("ip");
        foreach (var a in new[] { "netns", "exec", Namespace(host), file }.Concat(arguments)) info.ArgumentList.Add(a);
        return info;
    }

    private string Script(params string[] arguments)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepoPaths.Root, "deploy", "netns.sh"));
        info.ArgumentList.Add(arguments[0]);
        info.ArgumentList.Add(Name);
        foreach (var a in arguments.Skip(1)) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(60_000)) throw new TimeoutException($"netns.sh {string.Join(' ', arguments)} did not finish within 60 s");
        if (p.ExitCode != 0) throw new InvalidOperationException($"netns.sh {string.Join(' ', arguments)} exited {p.ExitCode}: {stderr}");
        return stdout.Result;
    }

    public async Task DisposeAsync()
    {
        if (Client is not null) await Client.DisposeAsync();
        foreach (var agent in _agents) agent?.Dispose();
        _redis?.Dispose();
        Script("down");
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* best effort */ }
    }
}
