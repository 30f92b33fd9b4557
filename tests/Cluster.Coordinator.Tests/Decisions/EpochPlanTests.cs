using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Data;
using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class EpochPlanTests
{
    [Fact]
    public void PermutationIsDeterministicPerSeedAndEpochAndCoversEveryIndex()
    {
        var a = EpochSequence.Shuffled(42, 3, 1000);
        Assert.Equal(a, EpochSequence.Shuffled(42, 3, 1000));
        Assert.NotEqual(a, EpochSequence.Shuffled(42, 4, 1000));
        Assert.NotEqual(a, EpochSequence.Shuffled(43, 3, 1000));
        Assert.Equal(Enumerable.Range(0, 1000), a.Order());
        Assert.NotEqual(Enumerable.Range(0, 1000), a);
    }

    [Fact]
    public void ResumingFromTheGlobalCursorWithAnotherWorldSizeReadsEverySampleExactlyOnce()
    {
        const int n = 1003, globalBatch = 28;
        var order = EpochSequence.Shuffled(9, 0, n);
        var seen = new List<int>();
        long cursor = 0;
        void Step(int world)
        {
            var plan = new BatchPlan(globalBatch, 7, world);
            long end = cursor;
            for (var r = 0; r < world; r++)
            {
                foreach (var m in plan.MicroBatches(cursor, n, r).TakeWhile(m => m.StepStart == cursor))
                {
                    for (var p = m.RankStart; p < m.RankStart + m.RankValid; p++) seen.Add(order[p]);
                    end = m.End;
                }
            }
            cursor = end;
        }
        for (var i = 0; i < 10; i++) Step(world: 4);
        var checkpointed = new EpochPlan(9, 0, cursor); // what a committed checkpoint records
        cursor = checkpointed.Cursor;
        while (cursor < n) Step(world: 3);
        Assert.Equal(Enumerable.Range(0, n), seen.Order());
    }

    [Fact]
    public void ObservedPositionOnlyMovesForward()
    {
        var plan = new EpochPlan(1, 2, 500);
        Assert.Equal(new EpochPlan(1, 2, 600), EpochPlanDecider.Observe(plan, 2, 600).State);
        Assert.Equal(new EpochPlan(1, 3, 0), EpochPlanDecider.Observe(plan, 3, 0).State);
        Assert.Contains("behind", EpochPlanDecider.Observe(plan, 2, 499).Rejection);
        Assert.Contains("behind", EpochPlanDecider.Observe(plan, 1, 900).Rejection);
        Assert.Same(plan, EpochPlanDecider.Observe(plan, 2, 500).State);
    }

    [Fact]
    public void ResumePointIsTheCommittedCheckpointsPositionOrTheStart()
    {
        Assert.Equal(new EpochPlan(5, 0, 0), EpochPlanDecider.ResumePoint(5, null));
        var manifest = new CheckpointManifest("j", 1, 1, 10, 2, new EpochPlan(5, 1, 40), "d", DateTimeOffset.UnixEpoch, []);
        Assert.Equal(new EpochPlan(5, 1, 40), EpochPlanDecider.ResumePoint(5, manifest));
    }
}
