namespace Cluster.Collectives;

/// <summary>The running operation: its name, deadline and cancellation, plus the waiting policy. One per communicator,
/// reused by every operation (operations are serialised), so starting an operation allocates nothing.</summary>
internal sealed class OpContext
{
    private readonly MeshCommunicator _owner;
    private readonly LinkWaiter _waiter;
    private readonly TimeProvider _time;
    private readonly long _livenessEveryTicks;
    private long _deadline;
    private long _nextLiveness;
    private CancellationToken _ct;

    public OpContext(MeshCommunicator owner, CommunicatorOptions options)
    {
        _owner = owner;
        _time = options.TimeProvider;
        _waiter = new LinkWaiter(_time, options.SpinBeforeBlock);
        _livenessEveryTicks = _time.TimestampFrequency / 100; // 10 ms
        Timeout = options.OperationTimeout;
        Operation = "";
    }

    public string Operation { get; private set; }

    public TimeSpan Timeout { get; }

    /// <summary>The peer the operation last waited for (named in timeouts).</summary>
    public int? WaitingFor { get; private set; }

    public void Begin(string operation, CancellationToken ct)
    {
        Operation = operation;
        _ct = ct;
        var now = _time.GetTimestamp();
        _deadline = now + (long)(Timeout.TotalSeconds * _time.TimestampFrequency);
        _nextLiveness = now + _livenessEveryTicks;
        WaitingFor = null;
        _waiter.Reset();
    }

    /// <summary>Call after a round that moved bytes.</summary>
    public void Progress() => _waiter.Reset();

    /// <summary>Call after a round that moved nothing: waits a little, then checks abort, cancellation, deadline and peer liveness.</summary>
    public void Idle(Channel? read, Channel? write)
    {
        WaitingFor = read?.PeerRank ?? write?.PeerRank ?? WaitingFor;
        var now = _time.GetTimestamp();
        _waiter.Wait(read, write, now);
        _owner.ThrowIfAborted(Operation);
        _ct.ThrowIfCancellationRequested();
        now = _time.GetTimestamp();
        if (now >= _deadline) throw new CollectiveTimeoutException(Operation, _owner.Generation, WaitingFor, Timeout);
        if (now >= _nextLiveness && _waiter.IdleTicks(now) > _livenessEveryTicks)
        {
            _nextLiveness = now + _livenessEveryTicks;
            _owner.ThrowIfAnyPeerGone();
        }
    }

    /// <summary>Blocks until <paramref name="task"/> completes (opening a link), checking abort, cancellation and the
    /// operation's deadline every few milliseconds; a timeout names <paramref name="peer"/>.</summary>
    public T Await<T>(Task<T> task, int peer)
    {
        WaitingFor = peer;
        while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(5))
        {
            _owner.ThrowIfAborted(Operation);
            _ct.ThrowIfCancellationRequested();
            if (_time.GetTimestamp() >= _deadline) throw new CollectiveTimeoutException(Operation, _owner.Generation, peer, Timeout);
        }
        return task.GetAwaiter().GetResult();
    }
}
