using Microsoft.Extensions.Logging;

namespace Cluster.Collectives;

/// <summary>
/// The TCP/shared-memory communicator. Operations run synchronously on the calling thread through a single-threaded
/// progress engine over non-blocking links (lowest latency, no thread hops) and return completed ValueTasks.
/// Operations are serialised: a second concurrent call fails with <see cref="InvalidOperationException"/>.
/// Any failure breaks the communicator for good; <see cref="Abort"/> fails the pending operation within one poll slice.
/// Links: only the <see cref="PeerTopology.Partners"/> of this rank are connected at creation (ring neighbours and the
/// recursive-doubling partners; every collective uses only those). Send/Recv with any other rank opens that link on
/// first use, with the same handshake, inside the operation's deadline: the higher rank of the pair connects and the
/// lower one accepts, so the first Send/Recv of such a pair completes only once the other side has entered a
/// Send/Recv with it too. That needs the listener the communicator was created with to stay open.
/// </summary>
internal sealed partial class MeshCommunicator : ICommunicator
{
    private const int Idle = 0, Busy = 1, Closing = 2;
    private readonly CommunicatorOptions _options;
    private readonly Channel?[] _peers;
    private readonly MeshConnector? _connector;
    private readonly OpContext _ctx;
    private readonly byte[] _scratch;
    private readonly int _smallLimit;
    private readonly uint[] _sendSeq;
    private readonly uint[] _recvSeq;
    private readonly ILogger? _log;
    private uint _collectiveSeq;
    private int _state;
    private volatile string? _abortReason;
    private volatile CollectiveException? _broken;
    private int _linksClosed;

    /// <param name="connector">Opens links outside the topology on first use; null for a world of one.</param>
    public MeshCommunicator(CommunicatorOptions options, Channel?[] peers, MeshConnector? connector)
    {
        _options = options;
        _peers = peers;
        _connector = connector;
        _log = options.Logger;
        _ctx = new OpContext(this, options);
        _smallLimit = Math.Min(options.SmallMessageBytes, 4 * 1024 * 1024);
        _scratch = GC.AllocateUninitializedArray<byte>(Math.Max(options.SegmentBytes, _smallLimit), pinned: true);
        _sendSeq = new uint[options.WorldSize];
        _recvSeq = new uint[options.WorldSize];
    }

    public string JobId => _options.JobId;
    public long Generation => _options.Generation;
    public int Rank => _options.Rank;
    public int WorldSize => _options.WorldSize;

    internal CommunicatorOptions Options => _options;

    /// <summary>Diagnostics: the ranks this rank currently holds a link to (one authenticated socket each), ascending.</summary>
    internal IReadOnlyList<int> ConnectedPeers =>
        [.. Enumerable.Range(0, _peers.Length).Where(r => Volatile.Read(ref _peers[r]) is not null)];

    /// <summary>Diagnostics: the subset of <see cref="ConnectedPeers"/> linked over shared memory.</summary>
    internal IReadOnlyList<int> SharedMemoryPeers =>
        [.. Enumerable.Range(0, _peers.Length).Where(r => Volatile.Read(ref _peers[r])?.Link is Shm.ShmLink)];

    public void Abort(string reason)
    {
        _abortReason ??= string.IsNullOrWhiteSpace(reason) ? "aborted" : reason;
        _log?.LogWarning("Rank {Rank} generation {Generation}: communicator aborted: {Reason}", Rank, Generation, _abortReason);
        if (Interlocked.CompareExchange(ref _state, Closing, Idle) == Idle)
        {
            CloseLinks(goodbye: false);
            Volatile.Write(ref _state, Idle);
        }
    }

    public ValueTask DisposeAsync()
    {
        _abortReason ??= "communicator disposed";
        var spin = new SpinWait();
        var deadline = Environment.TickCount64 + 5000;
        while (Interlocked.CompareExchange(ref _state, Closing, Idle) != Idle && Environment.TickCount64 < deadline) spin.SpinOnce();
        CloseLinks(goodbye: _broken is null);
        return ValueTask.CompletedTask;
    }

    internal void ThrowIfAborted(string operation)
    {
        if (_abortReason is { } reason) throw new CommunicatorAbortedException(operation, Generation, reason);
    }

    /// <summary>Liveness scan of every link (kill -9 of a peer shows up as a closed socket with nothing to read).</summary>
    internal void ThrowIfAnyPeerGone()
    {
        foreach (var channel in _peers)
        {
            if (channel is null) continue;
            if (channel.ProbePeerDead()) throw new LinkFailedException(channel.PeerRank, $"rank {channel.PeerRank} is gone (connection closed or process died)");
        }
    }

    private void CloseLinks(bool goodbye)
    {
        if (Interlocked.Exchange(ref _linksClosed, 1) != 0) return;
        _connector?.Dispose();
        foreach (var channel in _peers)
        {
            if (channel is null) continue;
            if (goodbye) channel.TrySendGoodbye();
            channel.Dispose();
        }
    }

    /// <summary>Starts an operation: fails fast when aborted or broken, claims the engine, arms the deadline.</summary>
    private void Enter(string operation, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        ThrowIfAborted(operation);
        if (_broken is { } broken) throw Broken(operation, broken);
        if (Interlocked.CompareExchange(ref _state, Busy, Idle) != Idle)
        {
            ThrowIfAborted(operation);
            throw new InvalidOperationException($"{operation}: another operation is in progress on rank {Rank}; collectives on one communicator must not overlap.");
        }
        _ctx.Begin(operation, ct);
    }

    private void Exit()
    {
        Volatile.Write(ref _state, Idle);
        if (_abortReason is not null && Interlocked.CompareExchange(ref _state, Closing, Idle) == Idle)
        {
            CloseLinks(goodbye: false);
            Volatile.Write(ref _state, Idle);
        }
    }

    /// <summary>Maps an engine failure to the public exception and breaks the communicator.</summary>
    private Exception Fail(string operation, Exception e)
    {
        if (_abortReason is { } reason && e is not CommunicatorAbortedException)
            return Break(new CommunicatorAbortedException(operation, Generation, reason));
        Exception result = e switch
        {
            LinkFailedException link => new PeerFailedException(operation, Generation, link.PeerRank, link.Message, link),
            CollectiveException collective => collective,
            OperationCanceledException => e,
            _ => new CollectiveException(operation, Generation, _ctx.WaitingFor, e.Message, e),
        };
        if (result is CollectiveException ce) Break(ce);
        else Break(new CollectiveException(operation, Generation, _ctx.WaitingFor, "cancelled in the middle of the operation; the streams are inconsistent"));
        return result;
    }

    private CollectiveException Break(CollectiveException e)
    {
        if (_broken is null)
        {
            _broken = e;
            if (e is not CommunicatorAbortedException)
                _log?.LogError(e, "Rank {Rank} generation {Generation}: communicator broken", Rank, Generation);
        }
        return e;
    }

    private CollectiveException Broken(string operation, CollectiveException cause) => cause switch
    {
        CommunicatorAbortedException => new CommunicatorAbortedException(operation, Generation, _abortReason ?? cause.Message),
        { PeerRank: { } peer } => new PeerFailedException(operation, Generation, peer, $"communicator is broken since {cause.Operation} failed: {cause.Message}", cause),
        _ => new CollectiveException(operation, Generation, null, $"communicator is broken since {cause.Operation} failed: {cause.Message}", cause),
    };

    private void ArmCollective(OpCode op, long bytes)
    {
        var seq = ++_collectiveSeq;
        foreach (var channel in _peers)
        {
            if (channel is null) continue;
            channel.ArmSend(op, seq, bytes);
            channel.ArmReceive(op, seq, bytes);
        }
    }

    /// <summary>The link to <paramref name="peer"/> for point-to-point: a topology link, or one opened now (engine thread only).</summary>
    private Channel PointToPointLink(int peer)
    {
        if (_peers[peer] is { } channel) return channel;
        if (_connector is null) throw new InvalidOperationException($"no link from rank {Rank} to rank {peer}");
        using var giveUp = new CancellationTokenSource();
        var opening = _connector.OpenAsync(peer, giveUp.Token);
        try
        {
            channel = _ctx.Await(opening, peer);
        }
        catch
        {
            giveUp.Cancel();
            MeshConnector.DisposeWhenDone(opening);
            throw;
        }
        _log?.LogDebug("Rank {Rank}: opened a point-to-point link to rank {Peer} (outside the topology)", Rank, peer);
        Volatile.Write(ref _peers[peer], channel);
        return channel;
    }
}
