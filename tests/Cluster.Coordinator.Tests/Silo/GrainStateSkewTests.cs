using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Silo;

/// <summary>
/// Version skew of the persisted job state: a job grain state written by the build before the node-level control plane
/// (the whole rendezvous, every member twice) is read by this build, keeps its generation, ranks and fencing tokens, and
/// is rewritten in this build's form (one entry per node).
/// </summary>
public sealed class GrainStateSkewTests(CoordinatorClusterFixture fx) : IClassFixture<CoordinatorClusterFixture>
{
    private const string JobId = "job-19dd78c0";

    [Fact]
    public async Task State_an_older_build_wrote_is_read_fenced_the_same_and_rewritten_per_node()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "grain-state-1b9420b", JobId + ".json");
        var target = Path.Combine(fx.StateDirectory, "job", $"job%2F{JobId}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target, overwrite: true);
        Assert.Contains("\"members\"", File.ReadAllText(target));

        var grain = fx.Cluster.Client.GetGrain<IJobGrain>(JobId);
        var status = await grain.GetStatus();
        Assert.Equal(JobState.Running, status.State);
        Assert.Equal(1, status.Generation);
        Assert.Equal(["nodeA/0", "nodeB/0"], status.Ranks.Select(r => r.MemberId));

        // The older build's tokens (generation 1 << 16 | rank) still fence: nodeA holds rank 0, not rank 1.
        var ok = await grain.Beat(new NodeBeat("nodeA", 1, [new RankBeat(0, 1L << 16 | 0)]));
        Assert.Equal(ControlDirective.Continue, ok.Directive);
        var forged = await grain.Beat(new NodeBeat("nodeA", 1, [new RankBeat(0, 1L << 16 | 1)]));
        Assert.Equal(ControlDirective.Fenced, forged.Directive);
        Assert.Equal(AssignmentStatus.Assigned, (await grain.WaitForNodeAssignment("nodeB", TimeSpan.FromSeconds(1))).Status);

        var rewritten = File.ReadAllText(target);
        Assert.DoesNotContain("\"members\"", rewritten);
        Assert.Contains("\"nodes\"", rewritten);
        Assert.Contains("\"firstRank\": 1", rewritten);
        await grain.Cancel("test over");
    }
}
