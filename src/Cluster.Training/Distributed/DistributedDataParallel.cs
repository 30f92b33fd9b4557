using Cluster.Collectives;
using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Distributed;

/// <summary>
/// Data-parallel training over an <see cref="ICommunicator"/>, after torch.nn.parallel.DistributedDataParallel.
/// <para><see cref="InitializeAsync"/> verifies every rank has the same parameter names/shapes (all-gather of a shape
/// hash; on mismatch every rank fails naming the first differing parameter) and broadcasts parameters and buffers
/// from rank 0.</para>
/// <para>After each backward the caller invokes <see cref="SynchronizeGradientsAsync"/>: gradients are packed into
/// flat float32 buckets (arrays on the pinned object heap, allocated once and reused every step, viewed as tensors with torch.frombuffer: zero-copy) and each bucket is
/// all-reduced (average) as soon as it is packed; packing of bucket k+1 overlaps the all-reduce of bucket k.
/// TorchSharp exposes no autograd hooks on parameters, so unlike PyTorch the all-reduce cannot overlap with the
/// backward pass itself; it starts after backward returns.</para>
/// <para>Inside <see cref="NoSync"/> gradients only accumulate locally (gradient accumulation); the next synchronised
/// step all-reduces the accumulated sum. After the optimizer step call <see cref="SynchronizeBuffersAsync"/> to make
/// BatchNorm statistics identical (broadcast from rank 0, or averaged with <see cref="DdpOptions.SyncBatchNormStats"/>).</para>
/// </summary>
public sealed class DistributedDataParallel : IDisposable
{
    private readonly nn.Module module;
    private readonly ICommunicator communicator;
    private readonly DdpOptions options;
    private readonly GradientBucket[] buckets;
    private readonly Tensor[] floatBuffers;
    private readonly float[] bufferStaging;
    private int noSyncDepth;
    private bool disposed;

    public DistributedDataParallel(nn.Module module, ICommunicator communicator, DdpOptions? options = null)
    {
        this.module = module ?? throw new ArgumentNullException(nameof(module));
        this.communicator = communicator ?? throw new ArgumentNullException(nameof(communicator));
        this.options = options ?? new DdpOptions();
        this.options.Validate();
        var trainable = module.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
        foreach (var p in trainable)
        {
            if (p.dtype != ScalarType.Float32) throw new ArgumentException($"DDP needs float32 parameters (found {p.dtype}); keep fp32 master weights and wrap those");
        }
        buckets = BuildBuckets(trainable, this.options.BucketBytes);
        floatBuffers = module.buffers().Where(b => b.dtype == ScalarType.Float32).ToArray();
        bufferStaging = GC.AllocateUninitializedArray<float>(floatBuffers.Sum(b => (int)b.numel()), pinned: true);
    }

    public nn.Module Module => module;
    public ICommunicator Communicator => communicator;
    public int BucketCount => buckets.Length;
    public bool IsSyncEnabled => noSyncDepth == 0;

    /// <summary>Verifies identical architectures and copies rank 0's parameters and buffers to every rank.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        await ModelConsistency.VerifySameShapesAsync(module, communicator, cancellationToken).ConfigureAwait(false);
        await ModelConsistency.BroadcastStateAsync(module, communicator, 0, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gradients accumulate locally until the returned scope is disposed.</summary>
    public IDisposable NoSync()
    {
        noSyncDepth++;
        return new NoSyncScope(this);
    }

    /// <summary>All-reduces (averages) the gradients of all trainable parameters; a no-op inside <see cref="NoSync"/>.</summary>
    public async ValueTask SynchronizeGradientsAsync(CancellationToken cancellationToken) => await SynchronizeGradientsAsync(0f, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// As <see cref="SynchronizeGradientsAsync(CancellationToken)"/>, with <paramref name="side"/> carried in the last bucket
    /// (one float after the gradients) and averaged with them: returns the average of every rank's <paramref name="side"/>,
    /// or null when nothing was all-reduced (inside <see cref="NoSync"/>, one rank, no trainable parameter).
    /// </summary>
    public async ValueTask<float?> SynchronizeGradientsAsync(float side, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (noSyncDepth > 0 || communicator.WorldSize == 1 || buckets.Length == 0) return null;
        buckets[^1].Side[0] = side;
        buckets[0].Pack();
        var inFlight = communicator.AllReduceAsync(buckets[0].Memory, ReduceOp.Average, cancellationToken);
        for (var k = 1; k < buckets.Length; k++)
        {
            buckets[k].Pack(); // overlaps with the all-reduce of bucket k-1
            await inFlight.ConfigureAwait(false);
            inFlight = communicator.AllReduceAsync(buckets[k].Memory, ReduceOp.Average, cancellationToken);
            buckets[k - 1].Unpack();
        }
        await inFlight.ConfigureAwait(false);
        buckets[^1].Unpack();
        return buckets[^1].Side[0];
    }

    /// <summary>Makes float32 buffers (BatchNorm running mean/var) identical on every rank.</summary>
    public async ValueTask SynchronizeBuffersAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (communicator.WorldSize == 1 || bufferStaging.Length == 0) return;
        TensorPacking.Pack(floatBuffers, bufferStaging);
        if (options.SyncBatchNormStats)
            await communicator.AllReduceAsync(bufferStaging.AsMemory(), ReduceOp.Average, cancellationToken).ConfigureAwait(false);
        else
            await communicator.BroadcastAsync(bufferStaging.AsMemory(), 0, cancellationToken).ConfigureAwait(false);
        TensorPacking.Unpack(bufferStaging, floatBuffers);
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var b in buckets) b.Dispose();
    }

    /// <summary>The buckets of <paramref name="parameters"/> (the audit replay lays its gradients out the same way).</summary>
    internal static GradientBucket[] BuildBuckets(List<Tensor> parameters, int bucketBytes)
    {
        // Reverse registration order, as PyTorch does: the last layers' gradients are complete first.
        var result = new List<GradientBucket>();
        var current = new List<Tensor>();
        long bytes = 0;
        for (var i = parameters.Count - 1; i >= 0; i--)
        {
            var size = parameters[i].numel() * sizeof(float);
            if (current.Count > 0 && bytes + size > bucketBytes)
            {
                result.Add(new GradientBucket(current));
                current = [];
                bytes = 0;
            }
            current.Add(parameters[i]);
            bytes += size;
        }
        if (current.Count > 0) result.Add(new GradientBucket(current, sideSlots: 1)); // the last one carries the side value
        return [.. result];
    }

    private sealed class NoSyncScope(DistributedDataParallel owner) : IDisposable
    {
        private bool done;

        public void Dispose()
        {
            if (done) return;
            done = true;
            owner.noSyncDepth--;
        }
    }
}
