using Cluster.Coordinator.Hosting;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Cluster.Coordinator.Tests.Silo;

/// <summary>One in-process silo with file job storage and a fake coordinator clock, shared by a test class.</summary>
public sealed class CoordinatorClusterFixture : IAsyncLifetime
{
    public static readonly CoordinatorOptions Options = new()
    {
        LeaseDuration = TimeSpan.FromSeconds(5),
        FirstBeatGrace = TimeSpan.Zero,
        SettleWindow = TimeSpan.Zero,
        TickPeriod = TimeSpan.FromMilliseconds(50),
        MaxLongPoll = TimeSpan.FromSeconds(2),
        CheckpointAckTimeout = TimeSpan.FromSeconds(1),
    };

    private readonly string _root = Path.Combine(Path.GetTempPath(), "coord-cluster-" + Guid.NewGuid().ToString("N"));

    public FakeTimeProvider Time { get; } = new();
    public string StateDirectory => Path.Combine(_root, "state");
    public string CheckpointRoot => Path.Combine(_root, "ckpt");
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddClusterCoordinator(Options, Time).AddFileJobStorage(StateDirectory));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        try
        {
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
        }
        finally
        {
            if (Directory.Exists(_root)) Directory.Delete(_root, true);
        }
    }
}
