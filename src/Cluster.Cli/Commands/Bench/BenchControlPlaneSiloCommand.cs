using System.CommandLine;
using System.Net;
using Cluster.Coordinator;
using Cluster.Coordinator.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Hidden: the silo of `bench control-plane`, in a process of its own so its CPU is measured apart from the
/// simulated members. Production coordinator wiring: Redis clustering and storage, or the embedded memory storage.
/// Prints "ready" on stdout once it serves, and stops when stdin closes (its driver exited).</summary>
internal sealed class BenchControlPlaneSiloCommand : BaseCommand
{
    private readonly Option<string?> _redis = new("--redis") { Description = "Redis configuration; none: embedded memory storage" };
    private readonly Option<int> _siloPort = new("--silo-port") { Required = true };
    private readonly Option<int> _gatewayPort = new("--gateway-port") { Required = true };
    private readonly Option<string> _clusterId = new("--cluster-id") { Required = true };

    public BenchControlPlaneSiloCommand() : base("control-plane-silo", "the silo process of bench control-plane")
    {
        Hidden = true;
        Options.Add(_redis);
        Options.Add(_siloPort);
        Options.Add(_gatewayPort);
        Options.Add(_clusterId);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var redis = parseResult.GetValue(_redis);
        var siloPort = parseResult.GetValue(_siloPort);
        var gatewayPort = parseResult.GetValue(_gatewayPort);
        var clusterId = parseResult.GetValue(_clusterId)!;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        var coordinator = new CoordinatorOptions(); // production timing
        builder.UseOrleans(silo =>
        {
            if (redis is null)
                silo.UseEmbeddedCoordinator(new EmbeddedCoordinatorOptions { SiloPort = siloPort, GatewayPort = gatewayPort, ClusterId = clusterId }, coordinator);
            else
                silo.UseClusteredCoordinator(new ClusteredCoordinatorOptions
                {
                    RedisConfiguration = redis, AdvertisedAddress = IPAddress.Loopback, SiloPort = siloPort, GatewayPort = gatewayPort, ClusterId = clusterId,
                }, coordinator);
        });
        using var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        await Console.Out.WriteLineAsync("ready").ConfigureAwait(false);
        await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
        // The driver holds our stdin; end of stream means it is gone (also when it was killed).
        await Task.Run(() => Console.In.ReadToEnd(), cancellationToken).ConfigureAwait(false);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await host.StopAsync(stop.Token).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
