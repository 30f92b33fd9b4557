using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Cluster.Collectives.Tests;

/// <summary>Ranks as threads of the test process, each with its own communicator, listener and sockets.</summary>
internal static class InProcessWorld
{
    /// <summary>Each communicator's listener stays open until <see cref="DisposeAllAsync"/>: Send/Recv between ranks
    /// outside the topology connect on first use and need it.</summary>
    private static readonly ConditionalWeakTable<ICommunicator, CommunicatorListener> Listeners = new();

    public static readonly byte[] Secret = Convert.FromHexString("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    public static CommunicatorOptions Options(int rank, IReadOnlyList<int> ports, string[]? hostIds = null, TransportKind transport = TransportKind.Tcp,
        TimeSpan? timeout = null, ILogger? logger = null, int smallMessageBytes = 64 * 1024) => new()
    {
        JobId = "job-a",
        Generation = 7,
        Rank = rank,
        Secret = Secret,
        Peers = [.. ports.Select((p, r) => new PeerInfo(r, "127.0.0.1", p, hostIds?[r] ?? "host" + r))],
        Transport = transport,
        OperationTimeout = timeout ?? TimeSpan.FromSeconds(30),
        ConnectTimeout = timeout ?? TimeSpan.FromSeconds(30),
        SmallMessageBytes = smallMessageBytes,
        Logger = logger,
    };

    /// <summary>Binds one listener per rank and connects all communicators concurrently.</summary>
    public static async Task<ICommunicator[]> CreateAsync(int world, Func<int, int[], CommunicatorOptions>? options = null, CancellationToken ct = default)
    {
        var listeners = Enumerable.Range(0, world).Select(_ => CommunicatorListener.Bind("127.0.0.1", 0)).ToArray();
        var kept = false;
        try
        {
            var ports = listeners.Select(l => l.Port).ToArray();
            var tasks = Enumerable.Range(0, world)
                .Select(r => Task.Run(() => Communicator.CreateAsync(options?.Invoke(r, ports) ?? Options(r, ports), listeners[r], ct), ct))
                .ToArray();
            var comms = await Task.WhenAll(tasks);
            for (var r = 0; r < world; r++) Listeners.Add(comms[r], listeners[r]);
            kept = true;
            return comms;
        }
        finally
        {
            if (!kept) foreach (var l in listeners) l.Dispose();
        }
    }

    /// <summary>Runs <paramref name="body"/> for every rank on its own dedicated thread (operations run on the caller's thread).</summary>
    public static Task RunAsync(ICommunicator[] comms, Func<ICommunicator, Task> body) =>
        Task.WhenAll(comms.Select(c => Task.Factory.StartNew(() => body(c).GetAwaiter().GetResult(), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default)));

    public static async Task DisposeAllAsync(IEnumerable<ICommunicator> comms)
    {
        foreach (var c in comms)
        {
            await c.DisposeAsync();
            if (Listeners.TryGetValue(c, out var listener)) listener.Dispose();
        }
    }

    public static int FreePort()
    {
        using var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
