using System.CommandLine;
using Cluster.Agent.Client;
using Cluster.Coordinator.Hosting;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>The --redis / --cluster-id options of the client commands and the connection they describe.</summary>
internal sealed class ClusterConnection(bool required = true)
{
    public Option<string> Redis { get; } = new("--redis") { Description = "Redis configuration of the cluster, e.g. 10.0.0.5:6379", Required = required };

    /// <summary>True when --redis was given (for a command where it is optional).</summary>
    public bool IsGiven(ParseResult parse) => parse.GetValue(Redis) is not null;
    public Option<string> ClusterId { get; } = new("--cluster-id") { Description = "Orleans cluster id", DefaultValueFactory = _ => ClusterDefaults.ClusterId };

    public void AddTo(Command command)
    {
        command.Options.Add(Redis);
        command.Options.Add(ClusterId);
    }

    /// <summary>Checks Redis answers (failing within seconds naming the endpoint), then connects an Orleans client.</summary>
    public async Task<CoordinatorClient> ConnectAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var redis = parse.GetValue(Redis)!;
        var clusterId = parse.GetValue(ClusterId)!;
        await RedisPreflight.EnsureReachableAsync(redis, ClusterDefaults.RedisCheck, cancellationToken).ConfigureAwait(false);
        return await CoordinatorClient.ConnectRedisAsync(redis, clusterId, ClusterDefaults.ClusterId, TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
    }
}
