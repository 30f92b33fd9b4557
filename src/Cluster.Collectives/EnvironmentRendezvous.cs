using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cluster.Collectives;

/// <summary>The env:// store: rank 0 listens on MASTER_PORT; every other rank authenticates (HMAC handshake, purpose
/// "store"), registers its listen port and host identity, and receives the full peer table once all ranks registered.</summary>
internal static class EnvironmentRendezvous
{
    private const int MaxString = 256;

    public static EnvironmentSettings ReadSettings(Func<string, string?> env)
    {
        string Require(string name) => env(name) is { Length: > 0 } v ? v : throw new InvalidOperationException($"env:// rendezvous needs the environment variable {name}.");
        int Int(string name) => int.TryParse(Require(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new InvalidOperationException($"{name} must be an integer, got '{env(name)}'.");
        var generation = env("CLUSTER_GENERATION") is { Length: > 0 } g ? long.Parse(g, CultureInfo.InvariantCulture) : 0;
        var transport = env("CLUSTER_TRANSPORT") is { Length: > 0 } t ? Enum.Parse<TransportKind>(t, ignoreCase: true) : TransportKind.Auto;
        var timeout = env("CLUSTER_CONNECT_TIMEOUT_S") is { Length: > 0 } s ? TimeSpan.FromSeconds(double.Parse(s, CultureInfo.InvariantCulture)) : TimeSpan.FromSeconds(60);
        return new EnvironmentSettings(Require("MASTER_ADDR"), Int("MASTER_PORT"), Int("RANK"), Int("WORLD_SIZE"),
            env("CLUSTER_JOB_ID") is { Length: > 0 } j ? j : "default", generation, ParseSecret(Require("CLUSTER_SECRET")),
            env("CLUSTER_HOST_ID") is { Length: > 0 } h ? h : Environment.MachineName, env("CLUSTER_ADVERTISE_HOST"), transport, timeout);
    }

    /// <summary>Hex (even length, hex digits only) or base64.</summary>
    public static byte[] ParseSecret(string text)
    {
        text = text.Trim();
        if (text.Length % 2 == 0 && text.All(Uri.IsHexDigit)) return Convert.FromHexString(text);
        try { return Convert.FromBase64String(text); }
        catch (FormatException) { throw new InvalidOperationException("CLUSTER_SECRET must be hex or base64."); }
    }

    public static async Task<ICommunicator> CreateAsync(EnvironmentSettings s, CancellationToken ct)
    {
        if (s.WorldSize < 1 || s.Rank < 0 || s.Rank >= s.WorldSize) throw new InvalidOperationException($"RANK {s.Rank} is not in [0, WORLD_SIZE={s.WorldSize}).");
        var listener = CommunicatorListener.Bind();
        try
        {
            return await CreateAsync(s, listener, ct).ConfigureAwait(false);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>The communicator owns <paramref name="listener"/> on success (it keeps accepting on-demand point-to-point links).</summary>
    private static async Task<ICommunicator> CreateAsync(EnvironmentSettings s, CommunicatorListener listener, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(s.Timeout);
        IReadOnlyList<PeerInfo> peers;
        try
        {
            peers = s.Rank == 0 ? await ServeAsync(s, listener.Port, deadline.Token).ConfigureAwait(false)
                                : await RegisterAsync(s, listener.Port, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CollectiveTimeoutException("rendezvous", s.Generation, s.Rank == 0 ? null : 0, s.Timeout);
        }
        var options = new CommunicatorOptions
        {
            JobId = s.JobId, Generation = s.Generation, Rank = s.Rank, Peers = peers, Secret = s.Secret,
            Transport = s.Transport, ConnectTimeout = s.Timeout,
        };
        return await Communicator.CreateAsync(options, listener, ownsListener: true, ct).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<PeerInfo>> ServeAsync(EnvironmentSettings s, int myPort, CancellationToken ct)
    {
        var entries = new PeerInfo?[s.WorldSize];
        entries[0] = new PeerInfo(0, s.AdvertiseHost ?? s.MasterAddress, myPort, s.HostId);
        if (s.WorldSize == 1) return entries!;
        var me = new HandshakeIdentity(s.JobId, s.Generation, -1, s.Secret);
        var clients = new Socket?[s.WorldSize];
        var gate = new object();
        var registered = 1;
        var complete = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var store = new Socket(SocketType.Stream, ProtocolType.Tcp);
        store.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        store.Bind(new IPEndPoint(IPAddress.Any, s.MasterPort));
        store.Listen(128);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // Each connection is handled on its own task, so garbage or a half-open connection only costs its own deadline.
        async Task HandleAsync(Socket socket)
        {
            try
            {
                using var hs = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                hs.CancelAfter(TimeSpan.FromSeconds(10));
                string? Validate(int r) { lock (gate) return r > 0 && r < s.WorldSize && entries[r] is null ? null : $"rank {r} is invalid or already registered"; }
                var rank = await Handshake.AcceptAsync(socket, me, Handshake.PurposeStore, Validate, hs.Token).ConfigureAwait(false);
                var head = new byte[4];
                await SocketIO.ReadExactAsync(socket, head, hs.Token).ConfigureAwait(false);
                int port = BinaryPrimitives.ReadUInt16BigEndian(head);
                int hostIdLength = BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(2));
                if (hostIdLength is 0 or > MaxString) throw new HandshakeRefusedException($"host id length {hostIdLength} out of range");
                var hostId = new byte[hostIdLength];
                await SocketIO.ReadExactAsync(socket, hostId, hs.Token).ConfigureAwait(false);
                var host = ((IPEndPoint)socket.RemoteEndPoint!).Address.ToString();
                lock (gate)
                {
                    if (entries[rank] is not null) throw new HandshakeRefusedException($"rank {rank} registered twice");
                    entries[rank] = new PeerInfo(rank, host, port, Encoding.UTF8.GetString(hostId));
                    clients[rank] = socket;
                    if (++registered == s.WorldSize) complete.TrySetResult();
                }
            }
            catch (Exception)
            {
                SocketIO.CloseQuietly(socket);
            }
        }

        var acceptLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Socket socket;
                try { socket = await store.AcceptAsync(stop.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
                catch (SocketException) { continue; }
                _ = HandleAsync(socket);
            }
        }, CancellationToken.None);
        try
        {
            await complete.Task.WaitAsync(ct).ConfigureAwait(false);
            var table = EncodeTable(entries!);
            foreach (var client in clients)
                if (client is not null) await SocketIO.WriteAllAsync(client, table, ct).ConfigureAwait(false);
            return entries!;
        }
        finally
        {
            stop.Cancel();
            await acceptLoop.ConfigureAwait(false);
            lock (gate)
                foreach (var client in clients) SocketIO.CloseGracefully(client);
        }
    }

    private static async Task<IReadOnlyList<PeerInfo>> RegisterAsync(EnvironmentSettings s, int myPort, CancellationToken ct)
    {
        var me = new HandshakeIdentity(s.JobId, s.Generation, s.Rank, s.Secret);
        while (true)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(s.MasterAddress, s.MasterPort, ct).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
                continue;
            }
            await Handshake.ConnectAsync(socket, me, -1, Handshake.PurposeStore, ct).ConfigureAwait(false);
            var hostId = Encoding.UTF8.GetBytes(s.HostId);
            if (hostId.Length > MaxString) throw new InvalidOperationException($"CLUSTER_HOST_ID is longer than {MaxString} bytes.");
            var head = new byte[4 + hostId.Length];
            BinaryPrimitives.WriteUInt16BigEndian(head, (ushort)myPort);
            BinaryPrimitives.WriteUInt16BigEndian(head.AsSpan(2), (ushort)hostId.Length);
            hostId.CopyTo(head, 4);
            await SocketIO.WriteAllAsync(socket, head, ct).ConfigureAwait(false);
            return await ReadTableAsync(socket, s.WorldSize, ct).ConfigureAwait(false);
        }
    }

    private static byte[] EncodeTable(PeerInfo[] entries)
    {
        using var ms = new MemoryStream();
        var u16 = new byte[2];
        void Write(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteUInt16BigEndian(u16, (ushort)bytes.Length);
            ms.Write(u16);
            ms.Write(bytes);
        }
        BinaryPrimitives.WriteUInt16BigEndian(u16, (ushort)entries.Length);
        ms.Write(u16);
        foreach (var e in entries)
        {
            Write(e.Host);
            BinaryPrimitives.WriteUInt16BigEndian(u16, (ushort)e.Port);
            ms.Write(u16);
            Write(e.HostId);
        }
        return ms.ToArray();
    }

    private static async Task<IReadOnlyList<PeerInfo>> ReadTableAsync(Socket socket, int worldSize, CancellationToken ct)
    {
        var u16 = new byte[2];
        async Task<int> ReadU16()
        {
            await SocketIO.ReadExactAsync(socket, u16, ct).ConfigureAwait(false);
            return BinaryPrimitives.ReadUInt16BigEndian(u16);
        }
        async Task<string> ReadString()
        {
            var length = await ReadU16().ConfigureAwait(false);
            if (length > MaxString) throw new IOException($"rendezvous string of {length} bytes exceeds {MaxString}");
            var bytes = new byte[length];
            await SocketIO.ReadExactAsync(socket, bytes, ct).ConfigureAwait(false);
            return Encoding.UTF8.GetString(bytes);
        }
        var count = await ReadU16().ConfigureAwait(false);
        if (count != worldSize) throw new IOException($"rendezvous returned {count} ranks but WORLD_SIZE is {worldSize}");
        var peers = new PeerInfo[count];
        for (var r = 0; r < count; r++)
        {
            var host = await ReadString().ConfigureAwait(false);
            var port = await ReadU16().ConfigureAwait(false);
            peers[r] = new PeerInfo(r, host, port, await ReadString().ConfigureAwait(false));
        }
        return peers;
    }
}
