using System.Security.Cryptography;
using Cluster.Collectives;
using Cluster.Training.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Audit;

/// <summary>
/// The audit replay's gradient average, done by the ranks' own all-reduce: one communicator per rank in this process
/// (over loopback TCP, one world per world size, kept for the replay), on buckets laid out as
/// <see cref="DistributedDataParallel"/> lays them out. So the replayed average is summed and rounded exactly as the job's
/// was: the ring all-reduce associates its sums per block, and no other order gives the same bits at 3 ranks or more.
/// </summary>
internal sealed class ReplayReduction(IReadOnlyList<Parameter> trainable, int bucketBytes) : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly GradientBucket[] _buckets = DistributedDataParallel.BuildBuckets([.. trainable.Cast<Tensor>()], bucketBytes);
    private readonly Dictionary<int, ICommunicator[]> _worlds = [];
    private readonly List<float[][]> _staged = []; // [rank][bucket]

    /// <summary>Keeps rank <paramref name="rank"/>'s gradients (now in the parameters), packed as its DDP packs them.</summary>
    public void Stage(int rank)
    {
        while (_staged.Count <= rank) _staged.Add([.. _buckets.Select(b => new float[b.Memory.Length])]);
        for (var k = 0; k < _buckets.Length; k++)
        {
            _buckets[k].Pack();
            _buckets[k].Memory.Span.CopyTo(_staged[rank][k]);
        }
    }

    /// <summary>Averages the staged gradients of ranks 0..<paramref name="world"/>-1 with the collectives and writes the result into the parameters' gradients.</summary>
    public void Reduce(int world, CancellationToken cancellationToken)
    {
        var comms = WorldOf(world, cancellationToken);
        var ranks = Enumerable.Range(0, world).Select(r => Task.Factory.StartNew(() =>
        {
            for (var k = 0; k < _buckets.Length; k++) comms[r].AllReduceAsync(_staged[r][k].AsMemory(), ReduceOp.Average, cancellationToken).AsTask().GetAwaiter().GetResult();
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        if (!Task.WaitAll(ranks, (int)Deadline.TotalMilliseconds, cancellationToken)) throw new TimeoutException($"the replay's all-reduce of {world} ranks did not end within {Deadline.TotalSeconds} s");
        for (var k = 0; k < _buckets.Length; k++)
        {
            _staged[0][k].CopyTo(_buckets[k].Memory.Span);
            _buckets[k].Unpack();
        }
    }

    private ICommunicator[] WorldOf(int world, CancellationToken cancellationToken)
    {
        if (_worlds.TryGetValue(world, out var known)) return known;
        var secret = RandomNumberGenerator.GetBytes(32);
        var listeners = Enumerable.Range(0, world).Select(_ => CommunicatorListener.Bind("127.0.0.1", 0)).ToArray();
        try
        {
            var peers = listeners.Select((l, r) => new PeerInfo(r, "127.0.0.1", l.Port, "replay")).ToArray();
            var created = Enumerable.Range(0, world).Select(r => Task.Run(() => Communicator.CreateAsync(new CommunicatorOptions
            {
                JobId = "audit-replay", Generation = world, Rank = r, Peers = peers, Secret = secret, Transport = TransportKind.Tcp,
                OperationTimeout = Deadline, ConnectTimeout = Deadline,
            }, listeners[r], cancellationToken), cancellationToken)).ToArray();
            Task.WaitAll(created, cancellationToken);
            return _worlds[world] = [.. created.Select(t => t.Result)];
        }
        finally
        {
            foreach (var l in listeners) l.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var comm in _worlds.Values.SelectMany(w => w)) await comm.DisposeAsync().ConfigureAwait(false);
        foreach (var b in _buckets) b.Dispose();
    }
}
