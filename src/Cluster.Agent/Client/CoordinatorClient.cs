using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Cluster.Agent.Client;

/// <summary>
/// A started Orleans client of the coordinator: either to fixed gateways (a rank talking to its local silo) or
/// to whatever silos Redis membership lists (the CLI in clustered mode). Dispose stops it.
/// </summary>
public sealed class CoordinatorClient : IAsyncDisposable
{
    private readonly IHost _host;

    private CoordinatorClient(IHost host)
    {
        _host = host;
        Grains = host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The grain factory.</summary>
    public IClusterClient Grains { get; }

    /// <summary>Connects to fixed gateway endpoints ("host:port").</summary>
    public static Task<CoordinatorClient> ConnectStaticAsync(IReadOnlyList<string> gateways, string clusterId, string serviceId,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var endpoints = gateways.Select(ParseEndpoint).ToArray();
        return StartAsync(c => c.UseStaticClustering(endpoints), clusterId, serviceId, $"gateway {string.Join(",", gateways)}", timeout, cancellationToken);
    }

    /// <summary>Connects through Redis membership (call RedisPreflight first to fail fast on a wrong endpoint).</summary>
    public static Task<CoordinatorClient> ConnectRedisAsync(string redisConfiguration, string clusterId, string serviceId,
        TimeSpan timeout, CancellationToken cancellationToken) =>
        StartAsync(c => c.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redisConfiguration)),
            clusterId, serviceId, $"the silos registered in Redis {redisConfiguration}", timeout, cancellationToken);

    private static async Task<CoordinatorClient> StartAsync(Action<IClientBuilder> clustering, string clusterId, string serviceId,
        string target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            clustering(client);
            client.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = serviceId; });
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
        });
        var host = builder.Build();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await host.StartAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            host.Dispose();
            throw new InvalidOperationException($"could not connect to the coordinator at {target} within {timeout.TotalSeconds:0.#}s: {e.Message}", e);
        }
        return new CoordinatorClient(host);
    }

    private static IPEndPoint ParseEndpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"gateway '{text}' must be host:port");
        var host = text[..colon];
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        var address = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            ?? throw new ArgumentException($"gateway host '{host}' has no IPv4 address");
        return new IPEndPoint(address, port);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _host.StopAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { /* gave up waiting for a clean stop */ }
        _host.Dispose();
    }
}
