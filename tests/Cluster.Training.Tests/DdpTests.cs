using Cluster.Abstractions;
using Cluster.Collectives;
using Cluster.Training.Distributed;
using Cluster.Training.Models;
using Cluster.Training.Tests.Fakes;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>DDP over the in-process thread communicator (the real multi-process test is in ClusterRunTests).</summary>
public sealed class DdpTests
{
    private const int Features = 20, Classes = 4, B = 8, K = 5;

    // Initialised from a private generator: the global torch RNG is shared by concurrently running tests and ranks.
    private static nn.Module<Tensor, Tensor> NewModel(long seed)
    {
        var model = ModelFactory.Create(new ModelSpec { Type = "mlp", Dropout = 0 }, [Features], Classes);
        var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var p in model.parameters())
        {
            using var init = randn(p.shape, generator: g) * 0.1;
            p.copy_(init);
        }
        return model;
    }

    private static (Tensor X, Tensor Y) Data()
    {
        var g = new Generator(123);
        return (randn([K * 2 * B, Features], generator: g), randint(0, Classes, [K * 2 * B], generator: g));
    }

    private static float[] Flatten(nn.Module m) =>
        m.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray();

    private static float[] TrainSingle(Tensor x, Tensor y)
    {
        using var model = NewModel(1);
        using var opt = optim.SGD(model.parameters(), 0.1, momentum: 0.9);
        for (var s = 0; s < K; s++)
        {
            opt.zero_grad();
            using var logits = model.forward(x.narrow(0, s * 2 * B, 2 * B));
            using var loss = nn.functional.cross_entropy(logits, y.narrow(0, s * 2 * B, 2 * B));
            loss.backward();
            opt.step();
        }
        return Flatten(model);
    }

    private static Task<float[][]> TrainDistributed(Tensor x, Tensor y, int bucketBytes, int accumulation) =>
        TrainDistributed(new ThreadGroup(2).CreateCommunicators(), x, y, bucketBytes, accumulation);

    private static async Task<float[][]> TrainDistributed(ICommunicator[] comms, Tensor x, Tensor y, int bucketBytes, int accumulation)
    {
        var tasks = comms.Select(c => Task.Run(async () =>
        {
            using var model = NewModel(1 + 100 * c.Rank); // rank 1 starts different: DDP must broadcast rank 0's weights
            using var ddp = new DistributedDataParallel(model, c, new DdpOptions { BucketBytes = bucketBytes });
            await ddp.InitializeAsync(CancellationToken.None);
            using var opt = optim.SGD(model.parameters(), 0.1, momentum: 0.9);
            var micro = B / accumulation;
            for (var s = 0; s < K; s++)
            {
                opt.zero_grad();
                for (var a = 0; a < accumulation; a++)
                {
                    var start = s * 2 * B + c.Rank * B + a * micro;
                    using var scope = a < accumulation - 1 ? ddp.NoSync() : null;
                    using var logits = model.forward(x.narrow(0, start, micro));
                    using var loss = nn.functional.cross_entropy(logits, y.narrow(0, start, micro)) / accumulation;
                    loss.backward();
                    await ddp.SynchronizeGradientsAsync(CancellationToken.None);
                }
                opt.step();
            }
            return (Flatten(model), ddp.BucketCount);
            // (ThreadCommunicator and the real TCP communicator both satisfy ICommunicator.)
        })).ToArray();
        var results = await Task.WhenAll(tasks);
        if (bucketBytes < 10_000) Assert.True(results[0].BucketCount > 1, "small buckets should split the gradients");
        return results.Select(r => r.Item1).ToArray();
    }

    [Theory]
    [InlineData(25 * 1024 * 1024, 1)]
    [InlineData(2048, 1)]
    [InlineData(2048, 2)]
    public async Task Two_ranks_with_batch_B_equal_one_process_with_batch_2B(int bucketBytes, int accumulation)
    {
        var (x, y) = Data();
        var single = TrainSingle(x, y);
        var ranks = await TrainDistributed(x, y, bucketBytes, accumulation);
        Assert.Equal(ranks[0], ranks[1]); // bit-identical replicas
        AssertClose(single, ranks[0], 1e-5);
    }

    [Fact]
    public async Task Equivalence_holds_over_the_real_tcp_communicator()
    {
        var (x, y) = Data();
        var single = TrainSingle(x, y);
        var listeners = Enumerable.Range(0, 2).Select(_ => CommunicatorListener.Bind("127.0.0.1", 0)).ToArray();
        var secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var peers = listeners.Select((l, r) => new PeerInfo(r, "127.0.0.1", l.Port, "test-host")).ToList();
        var comms = await Task.WhenAll(Enumerable.Range(0, 2).Select(r => Communicator.CreateAsync(new CommunicatorOptions
        {
            JobId = "ddp-test", Generation = 0, Rank = r, Peers = peers, Secret = secret, Transport = TransportKind.Tcp,
        }, listeners[r], CancellationToken.None)));
        foreach (var l in listeners) l.Dispose();
        try
        {
            var ranks = await TrainDistributed(comms, x, y, 2048, 2);
            Assert.Equal(ranks[0], ranks[1]);
            AssertClose(single, ranks[0], 1e-5);
        }
        finally
        {
            foreach (var c in comms) await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task No_sync_scope_skips_communication()
    {
        var comms = new ThreadGroup(1).CreateCommunicators();
        using var model = NewModel(1);
        // World size 1 never communicates; use 2 ranks where only the scope matters.
        var pair = new ThreadGroup(2).CreateCommunicators();
        var calls = await Task.WhenAll(pair.Select(c => Task.Run(async () =>
        {
            using var m = NewModel(1);
            using var ddp = new DistributedDataParallel(m, c);
            using (ddp.NoSync())
            {
                Assert.False(ddp.IsSyncEnabled);
                using var loss = m.forward(ones(2, Features)).sum();
                loss.backward();
                await ddp.SynchronizeGradientsAsync(CancellationToken.None);
            }
            Assert.True(ddp.IsSyncEnabled);
            return c.AllReduceCalls;
        })));
        Assert.All(calls, n => Assert.Equal(0, n));
    }

    [Fact]
    public async Task Shape_mismatch_fails_on_every_rank_naming_the_parameter()
    {
        var comms = new ThreadGroup(2).CreateCommunicators();
        var errors = await Task.WhenAll(comms.Select(c => Task.Run(async () =>
        {
            using var m = ModelFactory.Create(new ModelSpec { Type = "mlp", Dropout = 0 }, [c.Rank == 0 ? Features : Features + 1], Classes);
            using var ddp = new DistributedDataParallel(m, c);
            return await Assert.ThrowsAsync<ModelMismatchException>(() => ddp.InitializeAsync(CancellationToken.None));
        })));
        Assert.All(errors, e => Assert.Contains("fc1.weight", e.Message));
    }

    [Fact]
    public async Task Batchnorm_buffers_are_broadcast_or_averaged()
    {
        foreach (var average in new[] { false, true })
        {
            var comms = new ThreadGroup(2).CreateCommunicators();
            var means = await Task.WhenAll(comms.Select(c => Task.Run(async () =>
            {
                using var bn = nn.BatchNorm1d(3);
                using var ddp = new DistributedDataParallel(bn, c, new DdpOptions { SyncBatchNormStats = average });
                await ddp.InitializeAsync(CancellationToken.None);
                bn.train();
                using var outp = bn.forward(full(4, 3, (float)(c.Rank + 1) * 10) + arange(4).unsqueeze(1)); // rank 0 mean ~11.5, rank 1 ~21.5
                await ddp.SynchronizeBuffersAsync(CancellationToken.None);
                return bn.running_mean!.data<float>().ToArray();
            })));
            Assert.Equal(means[0], means[1]);
            var expected = average ? 0.1f * (11.5f + 21.5f) / 2 : 0.1f * 11.5f;
            Assert.Equal(expected, means[0][0], 3);
        }
    }

    internal static void AssertClose(float[] expected, float[] actual, double relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxErr = 0, scale = expected.Max(v => Math.Abs((double)v));
        for (var i = 0; i < expected.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(expected[i] - actual[i]));
        Assert.True(maxErr <= relative * scale, $"max abs diff {maxErr:g3} exceeds {relative:g1} × {scale:g3}");
    }
}
