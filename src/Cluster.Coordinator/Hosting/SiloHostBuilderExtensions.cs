using System.Net;
using Cluster.Coordinator.Grains;
using Cluster.Coordinator.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Serialization.Serializers;
using StackExchange.Redis;

namespace Cluster.Coordinator.Hosting;

/// <summary>Wires the coordinator into an Orleans silo: embedded (localhost) or clustered (Redis).</summary>
public static class SiloHostBuilderExtensions
{
    /// <summary>Registers the coordinator's services (options, clock). Storage and clustering are separate.</summary>
    public static ISiloBuilder AddClusterCoordinator(this ISiloBuilder silo, CoordinatorOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddSingleton((options ?? new CoordinatorOptions()).Validated());
        silo.Services.AddSingleton(new CoordinatorClock(time ?? TimeProvider.System));
        return silo;
    }

    /// <summary>Registers <see cref="JsonFileGrainStorage"/> as the job storage, rooted at <paramref name="directory"/>.</summary>
    public static ISiloBuilder AddFileJobStorage(this ISiloBuilder silo, string directory)
    {
        var options = new JsonFileGrainStorageOptions(directory).Validated();
        silo.Services.AddGrainStorage(JobGrain.StorageName,
            (sp, name) => new JsonFileGrainStorage(name, options, sp.GetRequiredService<IActivatorProvider>()));
        return silo;
    }

    /// <summary>Single silo on 127.0.0.1 with memory or file job storage.</summary>
    public static ISiloBuilder UseEmbeddedCoordinator(this ISiloBuilder silo, EmbeddedCoordinatorOptions embedded,
        CoordinatorOptions? options = null, TimeProvider? time = null)
    {
        embedded = embedded.Validated();
        silo.UseLocalhostClustering(embedded.SiloPort, embedded.GatewayPort, serviceId: embedded.ServiceId, clusterId: embedded.ClusterId);
        if (embedded.Storage == EmbeddedStorageKind.File) silo.AddFileJobStorage(embedded.StateDirectory!);
        else silo.AddMemoryGrainStorage(JobGrain.StorageName);
        return silo.AddClusterCoordinator(options, time);
    }

    /// <summary>
    /// Clustered silo: Redis membership and Redis job storage. Call <see cref="RedisPreflight.EnsureReachableAsync"/>
    /// before starting the host to fail fast on a wrong endpoint.
    /// </summary>
    public static ISiloBuilder UseClusteredCoordinator(this ISiloBuilder silo, ClusteredCoordinatorOptions clustered,
        CoordinatorOptions? options = null, TimeProvider? time = null)
    {
        clustered = clustered.Validated();
        silo.Configure<ClusterOptions>(o => { o.ClusterId = clustered.ClusterId; o.ServiceId = clustered.ServiceId; });
        silo.ConfigureEndpoints(clustered.AdvertisedAddress, clustered.SiloPort, clustered.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(clustered.AdvertisedAddress));
        silo.Configure<ClusterMembershipOptions>(clustered.Membership.ApplyTo);
        silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(clustered.RedisConfiguration));
        // One activation of a job grain, also while a silo dies: the default directory is eventually consistent, and after
        // a silo that held a directory partition died, a call from a survivor activated a second job grain next to the
        // living one (two coordinators, two generation 2s). The distributed directory recovers the dead silo's ranges
        // from the survivors' activations before it answers.
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.Configure<GrainDirectoryOptions>(clustered.Membership.ApplyTo);
        silo.AddRedisGrainStorage(JobGrain.StorageName, o =>
        {
            o.ConfigurationOptions = ConfigurationOptions.Parse(clustered.RedisConfiguration);
            o.GrainStorageSerializer = new GrainStateJson(); // the file storage's JSON, not Orleans' type-naming Newtonsoft form
        });
        return silo.AddClusterCoordinator(options, time);
    }
}
