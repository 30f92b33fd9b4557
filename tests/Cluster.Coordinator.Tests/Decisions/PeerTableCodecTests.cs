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
        // Hosts are written once per node: 8 ranks per node cost far less than 8 times one rank per node.
        Assert.True(packed.Length < 4 * (24 + 8 * 6), $"{packed.Length} bytes for 32 ranks on 4 hosts");
        Assert.Equal(World(3, 1), PeerTableCodec.Unpack(PeerTableCodec.Pack(World(3, 1))));
    }

    [Fact]
    public void Bad_tables_are_refused_before_they_are_used()
    {
        var good = PeerTableCodec.Pack(World(2, 2));
        Assert.Contains("truncated", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(good.AsMemory(0, good.Length - 3))).Message);
        var missing = PeerTableCodec.Pack([new PeerEndpoint(0, "h", 1, "h"), new PeerEndpoint(0, "h", 2, "h")]);
        Assert.Contains("listed once", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(missing)).Message);
        var port = PeerTableCodec.Pack([new PeerEndpoint(0, "h", 0, "h")]);
        Assert.Contains("port 0", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(port)).Message);
        // A header claiming a world larger than the bytes sent is refused before the rank array is allocated.
        byte[] huge = [0x93, 0x01, 0xce, 0x7f, 0xff, 0xff, 0xff, 0x90];
        Assert.Contains("world size", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(huge)).Message);
        Assert.Contains("trailing", Assert.Throws<FormatException>(() => PeerTableCodec.Unpack(good.Append((byte)0xc0).ToArray())).Message);
    }
}
