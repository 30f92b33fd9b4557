using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cluster.Collectives.Shm;

/// <summary>
/// A full-duplex <see cref="IPeerLink"/> between two processes of one host: a file in /dev/shm mapped by both,
/// holding two single-producer/single-consumer byte rings (one per direction, see <see cref="ShmLayout"/>).
/// TrySend/TryReceive never block and never enter the kernel on the hot path; callers spin.
/// The creator makes the file (mode 0600) and passes its name to the peer over an authenticated channel; the
/// opener maps it and unlinks it at once, so a crash of either side leaves nothing behind.
/// Peer death: each side publishes its PID and a closed flag; <see cref="PeerGone"/> becomes true when the peer
/// set its flag or /proc/&lt;pid&gt; vanished (checked at most every <see cref="PidCheckInterval"/>; a zombie
/// that its parent has not reaped yet still counts as alive, and PID reuse is not detected).
/// Not thread-safe: one thread drives a link at a time (sending and receiving may not run concurrently on two
/// threads either), and Dispose must not race with TrySend/TryReceive.
/// </summary>
internal sealed unsafe partial class ShmLink : IPeerLink
{
    public const string DefaultDirectory = "/dev/shm";
    /// <summary>Positions are published to the peer at least after this many bytes, so a large copy pipelines.</summary>
    private const int PublishChunk = 64 * 1024;
    private static readonly long PidCheckInterval = Stopwatch.Frequency / 500; // 2 ms

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly string _path;
    private readonly bool _isCreator;
    private readonly byte* _base;
    private readonly int _capacity;
    private readonly long _mask;
    private readonly long* _sendHead, _sendTail, _recvHead, _recvTail;
    private readonly byte* _sendData, _recvData;
    private readonly int* _ownPid, _peerPid, _ownClosed, _peerClosed;

    private long _sendPos, _sendTailCache, _recvPos, _recvHeadCache;
    private bool _peerGone, _disposed, _unlinked;
    private long _lastPidCheck;
    private int _checkedPid;
    private string? _procPath;

    private ShmLink(MemoryMappedFile file, MemoryMappedViewAccessor view, string path, bool isCreator, int peerRank, int capacity)
    {
        _file = file;
        _view = view;
        _path = path;
        _isCreator = isCreator;
        PeerRank = peerRank;
        _capacity = capacity;
        _mask = capacity - 1;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + view.PointerOffset;
        var ring0 = _base + ShmLayout.DataOffset;
        var ring1 = ring0 + capacity;
        var creator = isCreator;
        _sendHead = L(creator ? ShmLayout.Ring0HeadOffset : ShmLayout.Ring1HeadOffset);
        _sendTail = L(creator ? ShmLayout.Ring0TailOffset : ShmLayout.Ring1TailOffset);
        _sendData = creator ? ring0 : ring1;
        _recvHead = L(creator ? ShmLayout.Ring1HeadOffset : ShmLayout.Ring0HeadOffset);
        _recvTail = L(creator ? ShmLayout.Ring1TailOffset : ShmLayout.Ring0TailOffset);
        _recvData = creator ? ring1 : ring0;
        _ownPid = I(creator ? ShmLayout.CreatorPidOffset : ShmLayout.OpenerPidOffset);
        _peerPid = I(creator ? ShmLayout.OpenerPidOffset : ShmLayout.CreatorPidOffset);
        _ownClosed = I(creator ? ShmLayout.CreatorClosedOffset : ShmLayout.OpenerClosedOffset);
        _peerClosed = I(creator ? ShmLayout.OpenerClosedOffset : ShmLayout.CreatorClosedOffset);
        _sendPos = Volatile.Read(ref *_sendHead);
        _sendTailCache = Volatile.Read(ref *_sendTail);
        _recvPos = Volatile.Read(ref *_recvTail);
        _recvHeadCache = Volatile.Read(ref *_recvHead);
    }

    public int PeerRank { get; }

    /// <summary>Bytes per direction.</summary>
    public int Capacity => _capacity;

    /// <summary>Full path of the backing file (already unlinked once the peer has opened it).</summary>
    public string FilePath => _path;

    public System.Net.Sockets.Socket? PollSocket => null;

    public bool PeerGone
    {
        get
        {
            if (_peerGone) return true;
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Volatile.Read(ref *_peerClosed) != 0) return _peerGone = true;
            var now = Stopwatch.GetTimestamp();
            if (now - _lastPidCheck < PidCheckInterval) return false;
            _lastPidCheck = now;
            var pid = Volatile.Read(ref *_peerPid);
            if (pid <= 0) return false; // the peer has not attached yet
            if (pid != _checkedPid) { _checkedPid = pid; _procPath = "/proc/" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture); }
            if (!Directory.Exists(_procPath)) _peerGone = true;
            return _peerGone;
        }
    }

    public int TrySend(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref *_peerClosed) != 0 || _peerGone) throw Gone("send to");
        var free = _capacity - (_sendPos - _sendTailCache);
        if (free < data.Length)
        {
            _sendTailCache = Volatile.Read(ref *_sendTail);
            free = _capacity - (_sendPos - _sendTailCache);
            if ((ulong)free > (ulong)_capacity) throw Corrupt($"its read position {_sendTailCache} is outside [{_sendPos - _capacity}, {_sendPos}]");
        }
        if (free == 0 || data.IsEmpty)
        {
            if (!data.IsEmpty && PeerGone) throw Gone("send to");
            return 0;
        }
        var n = (int)Math.Min(free, data.Length);
        var done = 0;
        while (done < n)
        {
            var idx = (int)(_sendPos & _mask);
            var k = Math.Min(Math.Min(n - done, _capacity - idx), PublishChunk);
            data.Slice(done, k).CopyTo(new Span<byte>(_sendData + idx, k));
            done += k;
            _sendPos += k;
            Volatile.Write(ref *_sendHead, _sendPos);
        }
        return n;
    }

    public int TryReceive(Span<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (data.IsEmpty) return 0;
        var avail = Available(data.Length);
        if (avail == 0) return 0;
        var n = (int)Math.Min(avail, data.Length);
        var done = 0;
        while (done < n)
        {
            var idx = (int)(_recvPos & _mask);
            var k = Math.Min(Math.Min(n - done, _capacity - idx), PublishChunk);
            new ReadOnlySpan<byte>(_recvData + idx, k).CopyTo(data.Slice(done, k));
            done += k;
            _recvPos += k;
            Volatile.Write(ref *_recvTail, _recvPos);
        }
        return n;
    }

    /// <summary>Bytes readable now (at least <paramref name="minimum"/> or 0); throws when none and the peer is gone.</summary>
    private long Available(long wanted, int minimum = 1)
    {
        var avail = _recvHeadCache - _recvPos;
        if (avail < wanted)
        {
            _recvHeadCache = Volatile.Read(ref *_recvHead);
            avail = _recvHeadCache - _recvPos;
            if ((ulong)avail > (ulong)_capacity) throw Corrupt($"its write position {_recvHeadCache} is outside [{_recvPos}, {_recvPos + _capacity}]");
        }
        if (avail >= minimum) return avail;
        if (!PeerGone) return 0;
        // The peer publishes its last head before its closed flag: re-read once so nothing sent is lost.
        _recvHeadCache = Volatile.Read(ref *_recvHead);
        avail = _recvHeadCache - _recvPos;
        if (avail >= minimum) return avail;
        throw Gone("receive from");
    }

    private IOException Corrupt(string what) =>
        new($"shared-memory link to peer rank {PeerRank} is corrupt: {what}");

    private IOException Gone(string what) =>
        new($"cannot {what} peer rank {PeerRank} over shared memory: the peer " +
            (Volatile.Read(ref *_peerClosed) != 0 ? "closed the link" : $"process {Volatile.Read(ref *_peerPid)} no longer exists"));

    /// <summary>Test hook: publishes <paramref name="pid"/> as this side's process id (as if another process owned it).</summary>
    internal void PublishPidForTest(int pid) => Volatile.Write(ref *_ownPid, pid);

    /// <summary>Test hook: overwrites a 64-bit ring position in the shared header, as a misbehaving peer could.</summary>
    internal void CorruptForTest(int offset, long value) => Volatile.Write(ref *L(offset), value);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Volatile.Write(ref *_ownClosed, 1);
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        Unlink();
    }

    private void Unlink()
    {
        if (_unlinked) return;
        _unlinked = true;
        try { File.Delete(_path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long* L(int offset) => (long*)(_base + offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int* I(int offset) => (int*)(_base + offset);
}
