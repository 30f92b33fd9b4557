using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class PeerTableCodecTests
{
    private static List<PeerEndpoint> World(int nodes, int perNode) =>
        [.. Enumerable.Range(0, nodes * perNode).Select(r => new PeerEndpoint(r, $"10.0.0.{r / perNode}", 20000 + r, $"host-{r / perNode}"))];

    [Fact]
    public void Round_trips_and_writes_each_host_once()
    {
        var peers = World(4, 8);
        var packed = PeerTableCodec.Pack(peers);
        Assert.Equal(peers, PeerTableCodec.Unpack(packed));
        // Hosts are written once per node and ranks are implied: about 3 bytes per rank plus one entry per node.
        Assert.True(packed.Length < 4 * (30 + 8 * 3), $"{packed.Length} bytes for 32 ranks on 4 hosts");
        Assert.Equal(World(3, 1), PeerTableCodec.Unpack(PeerTableCodec.Pack(World(3, 1))));
    }

    [Fact]
    public void A_partial_table_lists_some_ranks_and_the_others_unpack_without_an_address()
    {
        var world = World(4, 4);
        var some = world.Where(p => p.Rank is 0 or 1 or 2 or 3 or 4 or 8).ToList();
        var unpacked = PeerTableCodec.Unpack(PeerTableCodec.Pack(some, 16));
        Assert.Equal(16, unpacked.Count);
        Assert.Equal(some, unpacked.Where(p => p.Port != 0));
        Assert.All(unpacked.Where(p => p.Rank is not (0 or 1 or 2 or 3 or 4 or 8)), p => Assert.Equal(("", 0), (p.Host, p.Port)));
        Assert.Throws<ArgumentException>(() => PeerTableCodec.Pack(some, 8)); // rank 8 outside a world of 8
    }

    [Fact]
    public void Bad_tables_are_refused_before_they_are_used()
    {
        var good = PeerTableCodec.Pack(World(2, 2));
        Assert.Contains("truncated", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(good.AsMemory(0, good.Length - 3))).Message);
        byte[] twice = [0x93, 0x01, 0x02, 0x92, 0x94, 0xa1, 0x68, 0xa1, 0x68, 0x00, 0x91, 0x01, 0x94, 0xa1, 0x68, 0xa1, 0x68, 0x00, 0x91, 0x02];
        Assert.Contains("rank 0 listed once", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(twice)).Message);
        var port = PeerTableCodec.Pack([new PeerEndpoint(0, "h", 0, "h")]);
        Assert.Contains("port 0", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(port)).Message);
        // A header claiming a world larger than the bytes sent is refused before the rank array is allocated.
        byte[] huge = [0x93, 0x01, 0xce, 0x7f, 0xff, 0xff, 0xff, 0x90];
        // A run claiming ranks past the world is refused before it is read.
        byte[] past = [0x93, 0x01, 0x01, 0x91, 0x94, 0xa1, 0x68, 0xa1, 0x68, 0x00, 0x92, 0x01, 0x02];
        Assert.Contains("inside world size 1", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(past)).Message);
        Assert.Contains("world size", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(huge)).Message);
        Assert.Contains("trailing", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(good.Append((byte)0xc0).ToArray())).Message);
    }
}
