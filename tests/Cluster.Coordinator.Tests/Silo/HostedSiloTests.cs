using System.Diagnostics;
using System.Net;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cluster.Coordinator.Tests.Silo;

/// <summary>Real silo hosts built with <see cref="SiloHostBuilderExtensions"/>: embedded (memory) and clustered (a real redis-server).</summary>
public sealed class HostedSiloTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly CoordinatorOptions Fast = new() { SettleWindow = TimeSpan.Zero, TickPeriod = TimeSpan.FromMilliseconds(100), MaxLongPoll = TimeSpan.FromSeconds(2) };

    private static async Task<IHost> StartAsync(Action<ISiloBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(configure);
        var host = builder.Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(cts.Token);
        return host;
    }

    private static async Task StopAsync(IHost host)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await host.StopAsync(cts.Token); }
        finally { host.Dispose(); }
    }

    private static async Task<JobDriver> RunTwoRanksAsync(IGrainFactory grains)
    {
        var job = await JobDriver.SubmitAsync(grains, 2, 2);
        // Both nodes join and long-poll concurrently, as two node agents would.
        async Task<RankAssignment> Worker(string node, int port) => (await RendezvousClient.JoinAndWaitAsync(job.Grain, job.Spec.JobId,
            new NodeJoinRequest(node, "host-" + node, "127.0.0.1", [new LocalEndpoint(0, port, 1)], JoinProof.Compute(job.Secret, job.Spec.JobId, node)),
            TimeSpan.FromSeconds(30), TimeProvider.System, CancellationToken.None)).For(0);
        var both = await Task.WhenAll(Worker("n2", 29501), Worker("n1", 29500));
        var (a, b) = (both[1], both[0]);
        Assert.Equal((1L, 1L, 0, 1), (a.Generation, b.Generation, a.Rank, b.Rank));
        return job;
    }

    [Fact]
    public async Task EmbeddedSiloWithMemoryStorageRunsARendezvous()
    {
        var host = await StartAsync(silo => silo.UseEmbeddedCoordinator(
            new EmbeddedCoordinatorOptions { SiloPort = FreePort.Next(), GatewayPort = FreePort.Next(), ClusterId = "t-" + Guid.NewGuid().ToString("N") }, Fast));
        try
        {
            var job = await RunTwoRanksAsync(host.Services.GetRequiredService<IGrainFactory>());
            var st = await job.Grain.GetStatus();
            Assert.Equal(JobState.Running, st.State);
        }
        finally
        {
            await StopAsync(host);
        }
    }

    [Fact]
    public async Task EmbeddedSiloWithFileStorageKeepsJobsAcrossARestart()
    {
        var dir = Path.Combine(Path.GetTempPath(), "coord-embedded-" + Guid.NewGuid().ToString("N"));
        EmbeddedCoordinatorOptions Options() => new()
        {
            SiloPort = FreePort.Next(), GatewayPort = FreePort.Next(), Storage = EmbeddedStorageKind.File, StateDirectory = dir,
            ClusterId = "f-" + Guid.NewGuid().ToString("N"),
        };
        try
        {
            JobDriver job;
            var first = await StartAsync(silo => silo.UseEmbeddedCoordinator(Options(), Fast));
            try { job = await RunTwoRanksAsync(first.Services.GetRequiredService<IGrainFactory>()); }
            finally { await StopAsync(first); }

            var second = await StartAsync(silo => silo.UseEmbeddedCoordinator(Options(), Fast));
            try
            {
                var status = await second.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>(job.Spec.JobId).GetStatus();
                Assert.Equal((JobState.Running, 1L, 2), (status.State, status.Generation, status.Ranks.Count));
            }
            finally
            {
                await StopAsync(second);
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task ClusteredSiloKeepsJobStateInRedisAcrossASiloRestart()
    {
        await RedisPreflight.EnsureReachableAsync(redis.Configuration, TimeSpan.FromSeconds(5), CancellationToken.None);
        var options = new ClusteredCoordinatorOptions
        {
            RedisConfiguration = redis.Configuration,
            AdvertisedAddress = IPAddress.Loopback,
            SiloPort = FreePort.Next(),
            GatewayPort = FreePort.Next(),
            ClusterId = "c-" + Guid.NewGuid().ToString("N"),
        };
        JobDriver job;
        var first = await StartAsync(silo => silo.UseClusteredCoordinator(options, Fast));
        try { job = await RunTwoRanksAsync(first.Services.GetRequiredService<IGrainFactory>()); }
        finally { await StopAsync(first); }

        var second = await StartAsync(silo => silo.UseClusteredCoordinator(options with { SiloPort = FreePort.Next(), GatewayPort = FreePort.Next() }, Fast));
        try
        {
            var grain = second.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>(job.Spec.JobId);
            var status = await grain.GetStatus();
            Assert.Equal(JobState.Running, status.State);
            Assert.Equal(1, status.Generation);
            Assert.Equal(["n1/0", "n2/0"], status.Ranks.Select(r => r.MemberId));
            Assert.Equal(job.Secret, (await grain.Submit(job.Spec)).JobSecretBase64);
        }
        finally
        {
            await StopAsync(second);
        }
    }

    [Fact]
    public async Task RedisPreflightFailsWithinTheDeadlineNamingTheEndpoint()
    {
        var port = FreePort.Next(); // nothing listens here
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            RedisPreflight.EnsureReachableAsync($"127.0.0.1:{port}", TimeSpan.FromSeconds(1.5), CancellationToken.None));
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
    }
}
