using System.Net.Sockets;

namespace Cluster.Collectives;

/// <summary>Waits until a link may make progress. Spins briefly first (lowest latency), then sleeps in poll(2) on the
/// TCP sockets for at most one short slice, so the caller re-checks abort, cancellation and the deadline every slice.
/// Shared-memory links have no socket: those are waited for by yielding, then by 1 ms sleeps. Allocation-free.</summary>
internal sealed class LinkWaiter
{
    private const int SliceMicroseconds = 1000;
    private readonly long _spinTicks;
    private readonly TimeProvider _time;
    private long _idleSince;

    public LinkWaiter(TimeProvider time, TimeSpan spin)
    {
        _time = time;
        _spinTicks = (long)(spin.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>Call when the last round made progress: the next wait starts spinning again.</summary>
    public void Reset() => _idleSince = 0;

    /// <summary>Idle for how long (timestamp ticks) since the last progress.</summary>
    public long IdleTicks(long now) => _idleSince == 0 ? 0 : now - _idleSince;

    /// <summary>Waits for one slice (or spins once) for <paramref name="read"/> to become readable or <paramref name="write"/> writable.</summary>
    public void Wait(Channel? read, Channel? write, long now)
    {
        if (_idleSince == 0) _idleSince = now;
        var idle = now - _idleSince;
        if (idle < _spinTicks)
        {
            // Cores are usually shared: yielding lets a peer on this core run instead of burning its time slice.
            if (!Thread.Yield()) Thread.SpinWait(20);
            return;
        }
        var readSocket = read?.Link.PollSocket;
        var writeSocket = write?.Link.PollSocket;
        var hasSpinOnly = (read is not null && readSocket is null) || (write is not null && writeSocket is null);
        if (hasSpinOnly || (readSocket is null && writeSocket is null))
        {
            if (idle < 2 * _time.TimestampFrequency / 1000) Thread.Yield();
            else Thread.Sleep(1);
            return;
        }
        // poll(2) on the sockets directly (Socket.Select allocates on its slow path, which the allocation test caught
        // under load). One socket: one poll for the slice. Read and write (often the same socket, to the same peer):
        // half a slice each, readable first.
        if (writeSocket is null) Poll(readSocket!, SelectMode.SelectRead, SliceMicroseconds);
        else if (readSocket is null) Poll(writeSocket, SelectMode.SelectWrite, SliceMicroseconds);
        else if (!Poll(readSocket, SelectMode.SelectRead, SliceMicroseconds / 2)) Poll(writeSocket, SelectMode.SelectWrite, SliceMicroseconds / 2);
    }

    private static bool Poll(Socket socket, SelectMode mode, int microseconds)
    {
        try { return socket.Poll(microseconds, mode); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true; // a closed socket: the next TrySend/TryReceive reports it with the peer's rank
        }
    }
}
