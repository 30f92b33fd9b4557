using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Cluster.Collectives;

/// <summary>Connects one generation's data plane. At creation only the <see cref="PeerTopology.Partners"/> of this rank:
/// it accepts the higher ones on its listener and connects to the lower ones (retrying until the connect deadline).
/// Afterwards it keeps accepting on the listener for the communicator's lifetime, so that a point-to-point operation
/// with a rank outside the topology can open that link on first use (<see cref="OpenAsync"/>): the higher rank of the
/// pair connects, the lower one takes the accepted link. Every connection is authenticated in both directions
/// (HMAC handshake) before it is used and upgraded to shared memory where the transport says so; refused connections
/// are logged and closed and the listener keeps accepting.</summary>
internal sealed class MeshConnector : IDisposable
{
    private readonly CommunicatorOptions _options;
    private readonly HandshakeIdentity _me;
    private readonly CommunicatorListener? _ownedListener;
    private readonly object _gate = new();
    /// <summary>Per higher rank: completes with the accepted link (taken once), or faults when accepting has ended.</summary>
    private readonly TaskCompletionSource<Channel>?[] _accepted;
    private readonly bool[] _taken;
    private readonly CancellationTokenSource _lifetime = new();
    private string? _acceptEnded;
    private bool _disposed;

    public MeshConnector(CommunicatorOptions options, CommunicatorListener? ownedListener = null)
    {
        _options = options;
        _ownedListener = ownedListener;
        _me = new HandshakeIdentity(options.JobId, options.Generation, options.Rank, options.Secret);
        _accepted = new TaskCompletionSource<Channel>?[options.WorldSize];
        _taken = new bool[options.WorldSize];
    }

    /// <summary>Starts accepting, connects this rank's topology partners and returns one channel per rank
    /// (null at this rank's own index and at every rank outside the topology).</summary>
    public async Task<Channel?[]> ConnectAsync(CommunicatorListener listener, CancellationToken ct)
    {
        _ = Task.Run(() => AcceptLoopAsync(listener, _lifetime.Token), CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.ConnectTimeout);
        var partners = PeerTopology.Partners(_options.Rank, _options.WorldSize);
        var outgoing = partners.Where(p => p < _options.Rank).ToDictionary(p => p, p => ConnectToAsync(p, deadline.Token));
        var incoming = partners.Where(p => p > _options.Rank).ToDictionary(p => p, Accepted);
        var links = outgoing.Concat(incoming).ToArray();
        var channels = new Channel?[_options.WorldSize];
        try
        {
            await Task.WhenAll(links.Select(l => l.Value)).WaitAsync(deadline.Token).ConfigureAwait(false);
            foreach (var (peer, task) in links) channels[peer] = Take(peer, task.Result);
            return channels;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            var missing = links.Where(l => !l.Value.IsCompletedSuccessfully).Select(l => l.Key).Order().ToArray();
            Fail(outgoing.Values);
            _options.Logger?.LogError("Rank {Rank} could not connect to ranks {Missing} within {Timeout}", _options.Rank, string.Join(",", missing), _options.ConnectTimeout);
            throw new CollectiveTimeoutException("connect", _options.Generation, missing.Length > 0 ? missing[0] : null, _options.ConnectTimeout);
        }
        catch
        {
            Fail(outgoing.Values);
            throw;
        }
    }

    /// <summary>Creation failed: stop accepting (disposes accepted links) and dispose outgoing links as they finish.</summary>
    private void Fail(IEnumerable<Task<Channel>> outgoing)
    {
        Dispose();
        foreach (var task in outgoing) DisposeWhenDone(task);
    }

    /// <summary>For links nobody will use (a caller gave up waiting): disposed if and when they arrive.</summary>
    public static void DisposeWhenDone(Task<Channel> task) =>
        _ = task.ContinueWith(t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    /// <summary>Opens the link to a rank outside the topology (point-to-point on first use): connects when the peer is
    /// lower, waits for its connection when it is higher. The caller bounds the wait (operation deadline), cancels
    /// <paramref name="ct"/> when it gives up and then passes the task to <see cref="DisposeWhenDone"/>.</summary>
    public async Task<Channel> OpenAsync(int peer, CancellationToken ct)
    {
        var channel = peer < _options.Rank
            ? await ConnectToAsync(peer, ct).ConfigureAwait(false)
            : await Accepted(peer).WaitAsync(ct).ConfigureAwait(false);
        return Take(peer, channel);
    }

    private Channel Take(int peer, Channel channel)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _taken[peer] = true;
                return channel;
            }
        }
        // Closed meanwhile: an accepted link was disposed with the other orphans; an outgoing one is disposed here.
        if (peer < _options.Rank) channel.Dispose();
        throw new LinkFailedException(peer, "the communicator is closed");
    }

    private Task<Channel> Accepted(int peer)
    {
        lock (_gate)
        {
            var slot = _accepted[peer] ??= new TaskCompletionSource<Channel>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_acceptEnded is { } why && !slot.Task.IsCompleted)
                slot.TrySetException(new LinkFailedException(peer, $"rank {_options.Rank} no longer accepts connections ({why}), so rank {peer} cannot connect"));
            return slot.Task;
        }
    }

    private async Task<Channel> ConnectToAsync(int peer, CancellationToken ct)
    {
        var info = _options.Peers[peer];
        if (info.Port == 0) // a coordinated rank gets only the addresses of its topology partners and its host
            throw new LinkFailedException(peer, $"rank {peer}'s address is not known to rank {_options.Rank} (the coordinator sends each node only the peers its algorithms use)");
        var backoff = TimeSpan.FromMilliseconds(10);
        Exception? last = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                SocketIO.ConfigureDataSocket(socket, _options.SocketBufferBytes);
                await socket.ConnectAsync(info.Host, info.Port, ct).ConfigureAwait(false);
                using var handshakeDeadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
                handshakeDeadline.CancelAfter(HandshakeTimeout);
                await Handshake.ConnectAsync(socket, _me, peer, Handshake.PurposeMesh, handshakeDeadline.Token).ConfigureAwait(false);
                var shm = UsesSharedMemory(peer)
                    ? await ShmUpgrade.OpenAsync(socket, peer, _options.Transport == TransportKind.Shm, handshakeDeadline.Token).ConfigureAwait(false)
                    : null;
                if (shm is null && UsesSharedMemory(peer))
                    _options.Logger?.LogWarning("Rank {Rank}: shared memory with rank {Peer} unavailable; using TCP", _options.Rank, peer);
                return shm is not null ? new Channel(shm, socket) : new Channel(new TcpLink(socket, peer), null);
            }
            catch (AuthenticationFailedException e)
            {
                SocketIO.CloseQuietly(socket);
                _options.Logger?.LogError("Rank {Rank}: rank {Peer} at {Host}:{Port} failed authentication: {Reason}", _options.Rank, peer, info.Host, info.Port, e.Message);
                throw;
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                SocketIO.CloseQuietly(socket);
                if (last?.GetType() != e.GetType())
                    _options.Logger?.LogDebug("Rank {Rank}: connecting to rank {Peer} at {Host}:{Port} failed ({Error}); retrying", _options.Rank, peer, info.Host, info.Port, e.Message);
                last = e;
                await Task.Delay(backoff, _options.TimeProvider, ct).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(Math.Min(250, backoff.TotalMilliseconds * 2));
            }
            catch
            {
                SocketIO.CloseQuietly(socket);
                throw;
            }
        }
    }

    private TimeSpan HandshakeTimeout => _options.ConnectTimeout < TimeSpan.FromSeconds(10) ? _options.ConnectTimeout : TimeSpan.FromSeconds(10);

    private async Task AcceptLoopAsync(CommunicatorListener listener, CancellationToken ct)
    {
        var why = "the communicator is closed";
        try
        {
            while (!ct.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await listener.Socket.AcceptAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { return; }
                catch (ObjectDisposedException) { why = "its listener was closed"; return; }
                catch (SocketException e)
                {
                    if (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.NotSocket) { why = "its listener was closed"; return; }
                    _options.Logger?.LogWarning("Rank {Rank}: accept failed: {Error}", _options.Rank, e.Message);
                    continue;
                }
                _ = Task.Run(() => AcceptOneAsync(socket, ct), CancellationToken.None);
            }
        }
        finally
        {
            lock (_gate)
            {
                _acceptEnded = why;
                for (var r = 0; r < _accepted.Length; r++)
                    _accepted[r]?.TrySetException(new LinkFailedException(r, $"rank {_options.Rank} no longer accepts connections ({why}), so rank {r} cannot connect"));
            }
        }
    }

    private async Task AcceptOneAsync(Socket socket, CancellationToken ct)
    {
        var remote = SocketIO.Describe(socket);
        try
        {
            SocketIO.ConfigureDataSocket(socket, 0);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(HandshakeTimeout);
            var peer = await Handshake.AcceptAsync(socket, _me, Handshake.PurposeMesh, ValidateIncoming, deadline.Token).ConfigureAwait(false);
            var shm = UsesSharedMemory(peer)
                ? await ShmUpgrade.CreateAsync(socket, peer, _options.ShmRingBytes, _options.Transport == TransportKind.Shm, deadline.Token).ConfigureAwait(false)
                : null;
            var channel = shm is not null ? new Channel(shm, socket) : new Channel(new TcpLink(socket, peer), null);
            bool installed;
            lock (_gate)
            {
                var slot = _accepted[peer] ??= new TaskCompletionSource<Channel>(TaskCreationOptions.RunContinuationsAsynchronously);
                installed = _acceptEnded is null && slot.TrySetResult(channel);
            }
            if (!installed)
            {
                channel.Dispose();
                throw new HandshakeRefusedException($"rank {peer} is already connected");
            }
        }
        catch (Exception e)
        {
            SocketIO.CloseQuietly(socket);
            if (e is OperationCanceledException && ct.IsCancellationRequested) return;
            var reason = e is OperationCanceledException ? "handshake deadline passed" : e.Message;
            _options.Logger?.LogWarning("Rank {Rank} refused connection from {Remote}: {Reason}", _options.Rank, remote, reason);
        }
    }

    private string? ValidateIncoming(int peer)
    {
        if (peer <= _options.Rank || peer >= _options.WorldSize)
            return $"rank {peer} may not connect to rank {_options.Rank} (only higher ranks of a world of {_options.WorldSize} connect here)";
        lock (_gate)
            return _accepted[peer]?.Task.IsCompleted == true ? $"rank {peer} is already connected" : null;
    }

    /// <summary>Shared memory for ranks of one host (Auto) or for everyone (Shm); both sides decide alike from the options.</summary>
    private bool UsesSharedMemory(int peer) => _options.Transport switch
    {
        TransportKind.Shm => true,
        TransportKind.Auto => string.Equals(_options.Peers[peer].HostId, _options.Peers[_options.Rank].HostId, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>Stops accepting, disposes the accepted links nobody took, and the listener if this connector owns it.</summary>
    public void Dispose()
    {
        List<Channel> orphans = [];
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _acceptEnded ??= "the communicator is closed";
            for (var r = 0; r < _accepted.Length; r++)
            {
                var slot = _accepted[r];
                if (slot is null) continue;
                if (slot.Task.IsCompletedSuccessfully && !_taken[r]) orphans.Add(slot.Task.Result);
                slot.TrySetException(new LinkFailedException(r, "the communicator is closed"));
            }
        }
        _lifetime.Cancel();
        foreach (var c in orphans) c.Dispose();
        _ownedListener?.Dispose();
    }
}
