using System.Buffers;
using MessagePack;

namespace Cluster.Coordinator.Contracts;

/// <summary>
/// MessagePack form of a generation's peer table, grouped by host so the host name and host id are written once per
/// node: <c>[1, world, [[host, hostId, [rank, port, rank, port, ...]], ...]]</c>. About 6 bytes per rank plus one host
/// entry per node, against ~90 bytes per rank as Orleans-serialized <see cref="PeerEndpoint"/> records in every
/// assignment. <see cref="Unpack"/> checks every count against the bytes left before it allocates, and checks that every
/// rank of the world appears exactly once.
/// </summary>
public static class PeerTableCodec
{
    private const int Version = 1;

    /// <summary>Packs <paramref name="peers"/> (ranks 0..N-1, each once).</summary>
    public static byte[] Pack(IReadOnlyList<PeerEndpoint> peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        var hosts = peers.GroupBy(p => (p.Host, p.HostId)).ToList();
        var buffer = new ArrayBufferWriter<byte>(64 + peers.Count * 8);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(Version);
        writer.Write(peers.Count);
        writer.WriteArrayHeader(hosts.Count);
        foreach (var host in hosts)
        {
            writer.WriteArrayHeader(3);
            writer.Write(host.Key.Host);
            writer.Write(host.Key.HostId);
            var ranks = host.ToList();
            writer.WriteArrayHeader(ranks.Count * 2);
            foreach (var p in ranks)
            {
                writer.Write(p.Rank);
                writer.Write(p.Port);
            }
        }
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Unpacks a table packed by <see cref="Pack"/>, sorted by rank; throws <see cref="FormatException"/> on bad input.</summary>
    public static IReadOnlyList<PeerEndpoint> Unpack(ReadOnlyMemory<byte> packed)
    {
        try
        {
            var reader = new MessagePackReader(packed);
            Expect(reader.ReadArrayHeader() == 3, "a 3-element table");
            Expect(reader.ReadInt32() == Version, $"format version {Version}");
            var world = reader.ReadInt32();
            Expect(world >= 1 && world <= packed.Length, $"a world size within the {packed.Length} bytes sent (got {world})");
            var peers = new PeerEndpoint?[world];
            var hosts = reader.ReadArrayHeader(); // checked by the reader against the bytes left
            var seen = 0;
            for (var h = 0; h < hosts; h++)
            {
                Expect(reader.ReadArrayHeader() == 3, "a 3-element host entry");
                var host = reader.ReadString() ?? throw new FormatException("peer table: host is nil");
                var hostId = reader.ReadString() ?? throw new FormatException("peer table: host id is nil");
                var pairs = reader.ReadArrayHeader();
                Expect(pairs % 2 == 0, "rank/port pairs");
                for (var i = 0; i < pairs / 2; i++)
                {
                    var rank = reader.ReadInt32();
                    var port = reader.ReadInt32();
                    Expect(rank >= 0 && rank < world, $"rank {rank} inside world size {world}");
                    Expect(port is > 0 and <= 65535, $"port {port} of rank {rank} in 1..65535");
                    Expect(peers[rank] is null, $"rank {rank} listed once");
                    peers[rank] = new PeerEndpoint(rank, host, port, hostId);
                    seen++;
                }
            }
            Expect(seen == world, $"all {world} ranks (got {seen})");
            Expect(reader.End, "no trailing bytes");
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
