using System.Globalization;
using Cluster.Cli.Hosting;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// The `cluster agent` processes of one `bench membership` run, all on 127.0.0.1 with ports of their own, in one fresh
/// Orleans cluster id. Killed with their rank processes on dispose (`ChildProcess`), also when the bench fails.
/// </summary>
internal sealed class MembershipAgents : IAsyncDisposable
{
    private readonly List<ChildProcess> _agents = [];

    public string ClusterId { get; } = $"bench-m-{Guid.NewGuid():N}"[..20];

    /// <summary>Silo ports of the started agents, in start order.</summary>
    public List<int> SiloPorts { get; } = [];

    /// <summary>Starts <paramref name="count"/> agents and waits (at most 120 s) until each printed its "ready" line.</summary>
    public async Task StartAsync(int count, string redis, string membership, string logs, CancellationToken cancellationToken)
    {
        var ports = Run.FreePorts.Pick(2 * count);
        var ready = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            var agent = ChildProcess.StartSelf($"agent m{i + 1}", ["agent", "--redis", redis, "--advertise-host", "127.0.0.1", "--silo-port", Str(ports[2 * i]),
                "--gateway-port", Str(ports[2 * i + 1]), "--node-id", $"m{i + 1}", "--host-id", $"m{i + 1}", "--nproc-per-node", "1",
                "--membership", membership, "--cluster-id", ClusterId, "--logs", logs], new Dictionary<string, string>());
            _agents.Add(agent);
            SiloPorts.Add(ports[2 * i]);
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var id = $"agent m{i + 1} ready";
            agent.Process.OutputDataReceived += (_, e) => { if (e.Data?.StartsWith(id, StringComparison.Ordinal) == true) seen.TrySetResult(); };
            agent.Process.ErrorDataReceived += (_, _) => { };
            agent.Process.BeginOutputReadLine();
            agent.Process.BeginErrorReadLine();
            ready.Add(seen.Task);
        }
        try { await Task.WhenAll(ready).WaitAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"{ready.Count(t => !t.IsCompleted)} of {count} agents were not ready within 120 s");
        }
    }

    /// <summary>SIGKILL of agent <paramref name="index"/> alone (its ranks notice by themselves).</summary>
    public void Kill(int index) => _agents[index].Process.Kill(entireProcessTree: false);

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync()
    {
        foreach (var agent in _agents) agent.Dispose(); // kills its process tree
        return ValueTask.CompletedTask;
    }
}
