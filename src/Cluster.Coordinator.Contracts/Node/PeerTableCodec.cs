using System.Buffers;
using MessagePack;

namespace Cluster.Coordinator.Contracts;

/// <summary>
/// MessagePack form of a generation's peer table, one entry per run of consecutive ranks on one host (a node's ranks are
/// consecutive), so the host name and host id are written once per node and ranks are implied:
/// <c>[1, world, [[host, hostId, firstRank, [port, port, ...]], ...]]</c>. About 3 bytes per rank plus one entry per
/// node, against ~90 bytes per rank as Orleans-serialized <see cref="PeerEndpoint"/> records in every assignment. A table
/// may list only some ranks of the world (those a node connects to): the others unpack with port 0 and no host. <see cref="Unpack"/> checks every count against the bytes left before it allocates, and checks that every
/// rank of the world appears exactly once.
/// </summary>
public static class PeerTableCodec
{
    private const int Version = 1;

    /// <summary>Largest world a table may describe (the fencing token holds 16 bits of rank).</summary>
    public const int MaxWorld = 65536;

    /// <summary>Packs <paramref name="peers"/> (distinct ranks of a world of <paramref name="worldSize"/>; all of them by default).</summary>
    public static byte[] Pack(IReadOnlyList<PeerEndpoint> peers, int? worldSize = null)
    {
        ArgumentNullException.ThrowIfNull(peers);
        var world = worldSize ?? peers.Count;
        if (peers.Any(p => p.Rank < 0 || p.Rank >= world)) throw new ArgumentException($"every rank must be in 0..{world - 1}", nameof(peers));
        var sorted = peers.OrderBy(p => p.Rank).ToList();
        var runs = new List<(PeerEndpoint First, List<int> Ports)>();
        foreach (var p in sorted)
        {
            if (runs.Count > 0 && runs[^1].First.Host == p.Host && runs[^1].First.HostId == p.HostId && runs[^1].First.Rank + runs[^1].Ports.Count == p.Rank)
                runs[^1].Ports.Add(p.Port);
            else
                runs.Add((p, [p.Port]));
        }
        var buffer = new ArrayBufferWriter<byte>(64 + peers.Count * 4);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(Version);
        writer.Write(world);
        writer.WriteArrayHeader(runs.Count);
        foreach (var (first, ports) in runs)
        {
            writer.WriteArrayHeader(4);
            writer.Write(first.Host);
            writer.Write(first.HostId);
            writer.Write(first.Rank);
            writer.WriteArrayHeader(ports.Count);
            foreach (var port in ports) writer.Write(port);
        }
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Unpacks a table packed by <see cref="Pack"/>: one entry per rank of the world, sorted by rank (port 0 and empty host
    /// for a rank the table does not list); throws <see cref="FormatException"/> on bad input.
    /// </summary>
    public static IReadOnlyList<PeerEndpoint> Unpack(ReadOnlyMemory<byte> packed)
    {
        try
        {
            var reader = new MessagePackReader(packed);
            Expect(reader.ReadArrayHeader() == 3, "a 3-element table");
            Expect(reader.ReadInt32() == Version, $"format version {Version}");
            var world = reader.ReadInt32();
            Expect(world >= 1 && world <= MaxWorld, $"a world size in 1..{MaxWorld} (got {world})");
            var peers = new PeerEndpoint?[world];
            var runs = reader.ReadArrayHeader(); // checked by the reader against the bytes left
            var seen = 0;
            for (var h = 0; h < runs; h++)
            {
                Expect(reader.ReadArrayHeader() == 4, "a 4-element host run");
                var host = reader.ReadString() ?? throw new FormatException("peer table: host is nil");
                var hostId = reader.ReadString() ?? throw new FormatException("peer table: host id is nil");
                var first = reader.ReadInt32();
                var count = reader.ReadArrayHeader();
                Expect(first >= 0 && (long)first + count <= world, $"ranks {first}..{(long)first + count - 1} inside world size {world}");
                for (var i = 0; i < count; i++)
                {
                    var rank = first + i;
                    var port = reader.ReadInt32();
                    Expect(port is > 0 and <= 65535, $"port {port} of rank {rank} in 1..65535");
                    Expect(peers[rank] is null, $"rank {rank} listed once");
                    peers[rank] = new PeerEndpoint(rank, host, port, hostId);
                    seen++;
                }
            }
            Expect(seen > 0, "at least one rank");
            Expect(reader.End, "no trailing bytes");
            for (var r = 0; r < world; r++) peers[r] ??= new PeerEndpoint(r, "", 0, "");
            return peers!;
        }
        catch (MessagePackSerializationException e)
        {
            throw new FormatException($"peer table: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException("peer table: truncated", e);
        }
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition) throw new FormatException($"peer table: expected {what}");
    }
}
