using System.Diagnostics;
using System.Runtime.CompilerServices;
using Cluster.Collectives.Nccl;
using Xunit;

namespace Cluster.Collectives.Tests;

/// <summary>This machine has neither a GPU nor NCCL: these tests pin down the fail-fast path and the binding's shape.</summary>
public sealed class NcclBackendTests
{
    private static CommunicatorOptions Options() => new()
    {
        JobId = "job-nccl",
        Generation = 3,
        Rank = 0,
        Peers = [new PeerInfo(0, "127.0.0.1", 1, "h"), new PeerInfo(1, "127.0.0.1", 2, "h")],
        Secret = new byte[32],
    };

    [Fact]
    public async Task AskingForNcclWithoutTheLibraryFailsAtOnceNamingIt()
    {
        var bootstrap = new UntouchableCommunicator();
        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<BackendUnavailableException>(() => NcclCommunicator.CreateAsync(Options(), bootstrap, 0, CancellationToken.None));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"took {sw.Elapsed}");
        Assert.Equal("NCCL", ex.Backend);
        Assert.Contains("libnccl.so.2", ex.Message);
        Assert.Equal(0, bootstrap.Calls);

        // A second attempt fails the same way (nothing cached in a half-loaded state).
        var again = Assert.Throws<BackendUnavailableException>(() => NcclApi.Load());
        Assert.Contains("libnccl.so.2", again.Message);
    }

    [Fact]
    public async Task BadArgumentsAreRejectedBeforeLoading()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => NcclCommunicator.CreateAsync(Options(), new UntouchableCommunicator(), -1, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => NcclCommunicator.CreateAsync(Options() with { Rank = 1 }, new UntouchableCommunicator(), 0, CancellationToken.None));
    }

    [Fact]
    public void BindingMatchesTheHeaders()
    {
        Assert.Equal(128, Unsafe.SizeOf<NcclUniqueId>());
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 },
            new[] { NcclDataType.Int8, NcclDataType.Uint8, NcclDataType.Int32, NcclDataType.Uint32, NcclDataType.Int64, NcclDataType.Uint64,
                NcclDataType.Float16, NcclDataType.Float32, NcclDataType.Float64, NcclDataType.Bfloat16 }.Select(x => (int)x));
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, new[] { NcclRedOp.Sum, NcclRedOp.Prod, NcclRedOp.Max, NcclRedOp.Min, NcclRedOp.Avg }.Select(x => (int)x));
        Assert.Equal(7, (int)NcclResult.InProgress);
        Assert.Equal(2, (int)CudaMemcpyKind.DeviceToHost);
        foreach (var name in new[] { "ncclGetUniqueId", "ncclCommInitRank", "ncclAllReduce", "ncclBroadcast", "ncclCommAbort", "ncclCommDestroy", "ncclGetErrorString" })
            Assert.Contains(name, NcclApi.NcclExports);
        foreach (var name in new[] { "cudaSetDevice", "cudaMalloc", "cudaFree", "cudaMemcpy", "cudaStreamCreate", "cudaStreamSynchronize", "cudaStreamQuery" })
            Assert.Contains(name, NcclApi.CudartExports);
        Assert.Equal("libnccl.so.2", NcclApi.NcclLibraries[0]);
        Assert.Equal("libcudart.so.12", NcclApi.CudartLibraries[0]);
        Assert.Contains("libcudart.so", NcclApi.CudartLibraries);
    }

    [Fact]
    public void ElementTypesMapToNcclTypes()
    {
        Assert.Equal(NcclDataType.Float32, NcclCommunicator.DataType<float>("op", false));
        Assert.Equal(NcclDataType.Float64, NcclCommunicator.DataType<double>("op", false));
        Assert.Equal(NcclDataType.Float16, NcclCommunicator.DataType<Half>("op", false));
        Assert.Equal(NcclDataType.Bfloat16, NcclCommunicator.DataType<BFloat16>("op", false));
        Assert.Equal(NcclDataType.Int32, NcclCommunicator.DataType<int>("op", false));
        Assert.Equal(NcclDataType.Int64, NcclCommunicator.DataType<long>("op", false));
        Assert.Equal(NcclDataType.Uint8, NcclCommunicator.DataType<byte>("op", true));
        Assert.Throws<NotSupportedException>(() => NcclCommunicator.DataType<byte>("all-reduce", false));
        Assert.Throws<NotSupportedException>(() => NcclCommunicator.DataType<short>("op", true));
    }

    /// <summary>A bootstrap that must never be used because NCCL is missing.</summary>
    private sealed class UntouchableCommunicator : ICommunicator
    {
        public int Calls;
        public string JobId => "job-nccl";
        public long Generation => 3;
        public int Rank => 0;
        public int WorldSize => 2;
        private ValueTask Fail() { Interlocked.Increment(ref Calls); throw new InvalidOperationException("bootstrap used"); }
        public ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged => Fail();
        public ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged => Fail();
        public ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged => Fail();
        public ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged => Fail();
        public ValueTask BarrierAsync(CancellationToken cancellationToken = default) => Fail();
        public ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged => Fail();
        public ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged => Fail();
        public void Abort(string reason) => Interlocked.Increment(ref Calls);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
