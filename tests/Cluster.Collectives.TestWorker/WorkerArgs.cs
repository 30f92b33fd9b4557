using System.Globalization;
using Cluster.Collectives;

namespace Cluster.Collectives.TestWorker;

/// <summary>Command line of the worker: <c>--key value</c> pairs.</summary>
public sealed record WorkerArgs(
    string Mode, int Rank, int World, string JobId, long Generation, byte[] Secret, int Seed, int SmallMessageBytes,
    TransportKind Transport, string[] HostIds, double TimeoutSeconds, bool Quick, string Sizes, int SegmentBytes, double SpinMicroseconds, int SocketBufferBytes)
{
    public static WorkerArgs Parse(string[] args)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2) map[args[i].TrimStart('-')] = args[i + 1];
        string Get(string key, string fallback) => map.TryGetValue(key, out var v) ? v : fallback;
        var world = int.Parse(Get("world", "1"), CultureInfo.InvariantCulture);
        return new WorkerArgs(
            Get("mode", "suite"),
            int.Parse(Get("rank", "0"), CultureInfo.InvariantCulture),
            world,
            Get("job", "test-job"),
            long.Parse(Get("gen", "1"), CultureInfo.InvariantCulture),
            Convert.FromHexString(Get("secret", "000102030405060708090a0b0c0d0e0f")),
            int.Parse(Get("seed", "1"), CultureInfo.InvariantCulture),
            int.Parse(Get("small", "65536"), CultureInfo.InvariantCulture),
            Enum.Parse<TransportKind>(Get("transport", "Tcp"), ignoreCase: true),
            Get("hosts", string.Join(",", Enumerable.Range(0, world).Select(r => "h" + r))).Split(','),
            double.Parse(Get("timeout", "30"), CultureInfo.InvariantCulture),
            Get("quick", "false") == "true",
            Get("sizes", "4096,65536,1048576,4194304,16777216,67108864"),
            int.Parse(Get("segment", "262144"), CultureInfo.InvariantCulture),
            double.Parse(Get("spin", "50"), CultureInfo.InvariantCulture),
            int.Parse(Get("sockbuf", "4194304"), CultureInfo.InvariantCulture));
    }

    public CommunicatorOptions ToOptions(IReadOnlyList<int> ports) => new()
    {
        JobId = JobId,
        Generation = Generation,
        Rank = Rank,
        Secret = Secret,
        Peers = [.. ports.Select((p, r) => new PeerInfo(r, "127.0.0.1", p, HostIds[r]))],
        Transport = Transport,
        SmallMessageBytes = SmallMessageBytes,
        OperationTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
        ConnectTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
        SegmentBytes = SegmentBytes,
        SpinBeforeBlock = TimeSpan.FromMicroseconds(SpinMicroseconds),
        SocketBufferBytes = SocketBufferBytes,
    };
}
