using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Cluster.Agent.Node;
using Cluster.Cli.Commands.Cluster;
using Cluster.Coordinator.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cluster.Cli.Commands;

/// <summary>`cluster agent --redis host:port`: this node's silo (Redis membership and job state) plus its node agent,
/// which starts the node's rank processes for submitted jobs. Runs until Ctrl-C / SIGTERM, then kills its ranks.</summary>
internal sealed class AgentCommand : BaseCommand
{
    private readonly Option<string> redis = new("--redis") { Description = "Redis configuration of the cluster, e.g. 10.0.0.5:6379", Required = true };
    private readonly Option<string?> advertiseHost = new("--advertise-host") { Description = "Address other nodes reach this node at (default: first non-loopback IPv4, else 127.0.0.1)" };
    private readonly Option<int> nproc = new("--nproc-per-node") { Description = "Most rank processes this node runs per job", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
    private readonly Option<int> siloPort = new("--silo-port") { Description = "Silo-to-silo port", DefaultValueFactory = _ => 11111 };
    private readonly Option<int> gatewayPort = new("--gateway-port") { Description = "Client gateway port", DefaultValueFactory = _ => 30000 };
    private readonly Option<string?> logs = new("--logs") { Description = "Folder of rank logs (default ~/.local/share/cluster/logs)" };
    private readonly Option<string?> nodeId = new("--node-id") { Description = "Stable node id (default: host name and silo port)" };
    private readonly Option<string?> hostId = new("--host-id") { Description = "Id of the machine: ranks of nodes with the same host id use shared memory between them (default: the host name)" };
    private readonly Option<string> membership = new("--membership") { Description = "Silo failure detection: 'tuned' (about a second) or 'orleans' (Orleans' defaults, about 6 s)", DefaultValueFactory = _ => "tuned" };
    private readonly Option<string> clusterId = new("--cluster-id") { Description = "Orleans cluster id", DefaultValueFactory = _ => ClusterDefaults.ClusterId };

    public AgentCommand() : base("agent", "Run this node's coordinator silo and node agent (clustered mode)")
    {
        foreach (var option in new Option[] { redis, advertiseHost, nproc, siloPort, gatewayPort, logs, nodeId, hostId, membership, clusterId }) Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var connection = parseResult.GetValue(redis)!;
        var host = parseResult.GetValue(advertiseHost) ?? DefaultAdvertiseHost();
        if (!IPAddress.TryParse(host, out var address))
            address = (await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false)).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                ?? throw new UsageException($"--advertise-host '{host}' has no IPv4 address");
        var silo = parseResult.GetValue(siloPort);
        var gateway = parseResult.GetValue(gatewayPort);
        var cluster = parseResult.GetValue(clusterId)!;
        ClusteredCoordinatorOptions clustered;
        NodeAgentOptions agent;
        try
        {
            clustered = new ClusteredCoordinatorOptions
            {
                RedisConfiguration = connection, AdvertisedAddress = address, SiloPort = silo, GatewayPort = gateway,
                ClusterId = cluster, ServiceId = ClusterDefaults.ClusterId, RedisCheckDeadline = ClusterDefaults.RedisCheck,
                Membership = parseResult.GetValue(membership) switch
                {
                    "tuned" => new MembershipTuning(),
                    "orleans" => MembershipTuning.Defaults,
                    var other => throw new UsageException($"--membership must be 'tuned' or 'orleans' (got '{other}')"),
                },
            }.Validated();
            agent = new NodeAgentOptions
            {
                NodeId = parseResult.GetValue(nodeId) ?? $"{Environment.MachineName}-{silo}",
                AdvertiseHost = address.ToString(),
                HostId = parseResult.GetValue(hostId) ?? Environment.MachineName,
                NprocPerNode = parseResult.GetValue(nproc),
                LogsDirectory = Path.GetFullPath(parseResult.GetValue(logs) ?? ClusterDefaults.LogsDirectory),
                Gateway = $"{address}:{gateway}",
                ClusterId = cluster,
                ServiceId = ClusterDefaults.ClusterId,
                WorkerCommand = SelfCommand.With(SelfCommand.CoordinatedWorker),
            }.Validated();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        try { await RedisPreflight.EnsureReachableAsync(connection, ClusterDefaults.RedisCheck, cancellationToken).ConfigureAwait(false); }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"agent: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.UseOrleans(s => s.UseClusteredCoordinator(clustered).AddNodeAgent(agent));
        using var app = builder.Build();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        await Console.Out.WriteLineAsync($"agent {agent.NodeId} ready: silo {address}:{silo}, gateway {agent.Gateway}, logs {agent.LogsDirectory}").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C / SIGTERM: stop below
        }
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StopAsync(stop.Token).ConfigureAwait(false);
        await Console.Out.WriteLineAsync($"agent {agent.NodeId} stopped").ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static string DefaultAdvertiseHost()
    {
        try
        {
            return Dns.GetHostAddresses(Dns.GetHostName())
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))?.ToString() ?? "127.0.0.1";
        }
        catch (SocketException)
        {
            return "127.0.0.1";
        }
    }
}
