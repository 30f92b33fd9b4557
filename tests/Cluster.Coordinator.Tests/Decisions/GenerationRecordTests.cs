using Cluster.Coordinator.Decisions;
using Cluster.Coordinator.Grains;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Coordinator.Tests.Decisions;

/// <summary>The persisted generation (one entry per node) stands for the same ranks after a regroup left partial nodes.</summary>
public sealed class GenerationRecordTests
{
    private readonly FakeTimeProvider _time = new();

    private static RendezvousMember Member(string node, int local) =>
        new($"{node}/{local}", node, local, $"host-{node}", "127.0.0.1", 20000 + local, 100 + local, DateTimeOffset.UnixEpoch);

    [Fact]
    public void A_node_that_lost_its_local_rank_0_keeps_the_member_ids_of_the_ranks_it_has_left()
    {
        var d = new RendezvousDecider(new RendezvousOptions(2, 2, 3, TimeSpan.Zero));
        var s = RendezvousState.Empty;
        foreach (var m in new[] { Member("a", 0), Member("a", 1), Member("a", 2), Member("b", 0), Member("b", 1), Member("b", 2) })
            s = d.Decide(s, new RendezvousEvent.Join([m]), _time.GetUtcNow()).State;
        var g2 = d.Decide(s, new RendezvousEvent.Regroup([0, 4]), _time.GetUtcNow()).State; // a/0 and b/1 are gone

        var record = GenerationRecord.Of(g2);
        Assert.Equal([1, 2], record.Nodes.Single(n => n.NodeId == "a").LocalRanks);
        Assert.Equal([0, 2], record.Nodes.Single(n => n.NodeId == "b").LocalRanks);
        var back = record.ToState();
        Assert.Equal(g2.Ranks.Select(r => (r.Rank, r.Member.MemberId)), back.Ranks.Select(r => (r.Rank, r.Member.MemberId)));
        Assert.Null(GenerationRecord.Of(s).Nodes[0].LocalRanks); // whole nodes are written as before (older builds read them)
    }
}
