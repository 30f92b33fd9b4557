using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Cluster.Collectives;

/// <summary>Builds the full TCP mesh of one generation: every rank accepts the higher ranks on its listener and
/// connects to every lower rank (retrying until the connect deadline). Each connection is authenticated in both
/// directions before it is used; refused connections are logged and closed and the listener keeps accepting.</summary>
internal sealed class MeshConnector
{
    private readonly CommunicatorOptions _options;
    private readonly HandshakeIdentity _me;
    private readonly Channel?[] _channels;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _allAccepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pendingAccepts;

    public MeshConnector(CommunicatorOptions options)
    {
        _options = options;
        _me = new HandshakeIdentity(options.JobId, options.Generation, options.Rank, options.Secret);
        _channels = new Channel?[options.WorldSize];
        _pendingAccepts = options.WorldSize - 1 - options.Rank;
        if (_pendingAccepts == 0) _allAccepted.TrySetResult();
    }

    /// <summary>Returns one channel per peer (null at this rank's own index).</summary>
    public async Task<Channel?[]> ConnectAsync(CommunicatorListener listener, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.ConnectTimeout);
        using var stopAccepting = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var acceptLoop = _pendingAccepts > 0 ? Task.Run(() => AcceptLoopAsync(listener, stopAccepting.Token), CancellationToken.None) : Task.CompletedTask;
        try
        {
            var connects = new List<Task>();
            for (var peer = 0; peer < _options.Rank; peer++) connects.Add(ConnectToAsync(peer, deadline.Token));
            var all = Task.WhenAll(connects.Append(_allAccepted.Task));
            await all.WaitAsync(deadline.Token).ConfigureAwait(false);
            return _channels;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            CloseAll();
            var missing = Enumerable.Range(0, _options.WorldSize).Where(r => r != _options.Rank && Volatile.Read(ref _channels[r]) is null).ToArray();
            _options.Logger?.LogError("Rank {Rank} could not connect to ranks {Missing} within {Timeout}", _options.Rank, string.Join(",", missing), _options.ConnectTimeout);
            throw new CollectiveTimeoutException("connect", _options.Generation, missing.Length > 0 ? missing[0] : null, _options.ConnectTimeout);
        }
        catch
        {
            CloseAll();
            throw;
        }
        finally
        {
            stopAccepting.Cancel();
            try { await acceptLoop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
    }

    private void CloseAll()
    {
        lock (_gate)
        {
            for (var i = 0; i < _channels.Length; i++) { _channels[i]?.Dispose(); _channels[i] = null; }
        }
    }

    private async Task ConnectToAsync(int peer, CancellationToken ct)
    {
        var info = _options.Peers[peer];
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
                var channel = shm is not null ? new Channel(shm, socket) : new Channel(new TcpLink(socket, peer), null);
                Install(peer, channel);
                return;
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
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.Socket.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                _options.Logger?.LogWarning("Rank {Rank}: accept failed: {Error}", _options.Rank, e.Message);
                continue;
            }
            _ = Task.Run(() => AcceptOneAsync(socket, ct), CancellationToken.None);
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
            if (!Install(peer, channel))
            {
                channel.Dispose();
                throw new HandshakeRefusedException($"rank {peer} is already connected");
            }
            if (Interlocked.Decrement(ref _pendingAccepts) == 0) _allAccepted.TrySetResult();
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
        return Volatile.Read(ref _channels[peer]) is null ? null : $"rank {peer} is already connected";
    }

    /// <summary>Shared memory for ranks of one host (Auto) or for everyone (Shm); both sides decide alike from the options.</summary>
    private bool UsesSharedMemory(int peer) => _options.Transport switch
    {
        TransportKind.Shm => true,
        TransportKind.Auto => string.Equals(_options.Peers[peer].HostId, _options.Peers[_options.Rank].HostId, StringComparison.Ordinal),
        _ => false,
    };

    private bool Install(int peer, Channel channel)
    {
        lock (_gate)
        {
            if (_channels[peer] is not null) return false;
            _channels[peer] = channel;
            return true;
        }
    }
}
