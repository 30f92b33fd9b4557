using Cluster.Coordinator.Contracts.Data;
using Cluster.Training.Data;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class SamplerTests
{
    private static readonly DistributedSamplerOptions Opts = new() { Seed = 42 };

    /// <summary>
    /// Runs every rank of world <paramref name="world"/> from <paramref name="cursor"/> for at most <paramref name="maxSteps"/>
    /// steps of <paramref name="globalBatch"/> (at most <paramref name="maxPerRank"/> per rank and micro-batch); returns the
    /// real samples read (padding left out), every index read, and the cursor after.
    /// </summary>
    private static (List<int> Real, List<int> All, SamplerCursor Cursor) Run(int n, DistributedSamplerOptions o, int world, int globalBatch, int maxPerRank,
        SamplerCursor cursor, int maxSteps)
    {
        var real = new List<int>();
        var all = new List<int>();
        long end = cursor.GlobalPosition;
        for (var r = 0; r < world; r++)
        {
            var s = new DistributedSampler(n, o, world, r);
            var micro = s.MicroBatches(s.Plan(globalBatch, maxPerRank), cursor);
            var steps = 0;
            foreach (var m in micro)
            {
                if (m.Index == 0 && ++steps > maxSteps) break;
                Assert.InRange(m.RankCount, 1, maxPerRank); // the memory bound
                var buf = new int[m.RankCount];
                s.Fill(cursor.Epoch, m, buf);
                real.AddRange(buf.Take(m.RankValid));
                all.AddRange(buf);
                if (r == 0) end = m.End;
            }
        }
        return (real, all, cursor with { GlobalPosition = end });
    }

    [Theory]
    [InlineData(2, 3, 1003, 14, 7, 5)]   // per-rank-like: a step of 7 per rank on 2 ranks, then 14 over 3 ranks (5, 5, 4)
    [InlineData(4, 1, 1000, 32, 8, 11)]  // 4 ranks of 8, then 1 rank with 4 micro-batches of 8
    [InlineData(3, 2, 500, 48, 16, 3)]
    [InlineData(2, 3, 60000, 128, 64, 7)] // the Fashion-MNIST example's global batch over 3 ranks: 43, 43, 42
    public void Every_sample_is_seen_exactly_once_across_a_world_size_change(int w1, int w2, int n, int globalBatch, int maxPerRank, int stepsBefore)
    {
        var o = Opts with { DropLast = true };
        var (first, _, cursor) = Run(n, o, w1, globalBatch, maxPerRank, new SamplerCursor(3, 0), stepsBefore);
        Assert.Equal(stepsBefore * globalBatch, first.Count);
        Assert.Equal(new SamplerCursor(3, stepsBefore * globalBatch), cursor);
        var (rest, _, end) = Run(n, o, w2, globalBatch, maxPerRank, cursor, int.MaxValue);
        var all = first.Concat(rest).ToList();
        Assert.Equal(all.Count, all.Distinct().Count()); // no duplicates
        // With drop-last only the final partial step (< G samples) is missing.
        Assert.InRange(n - all.Count, 0, globalBatch - 1);
        Assert.Equal(n - all.Count, n - (int)end.GlobalPosition);
        // The union is exactly the prefix of the epoch's sequence.
        var seq = new DistributedSampler(n, o, 1, 0).Sequence(3).ToArray();
        Assert.Equal(seq.Take(all.Count).OrderBy(i => i), all.OrderBy(i => i));
    }

    [Fact]
    public void The_short_final_step_covers_every_sample_once_and_a_rank_without_positions_gets_one_of_padding()
    {
        var (real, all, cursor) = Run(1003, Opts, 3, 21, 7, SamplerCursor.Start, int.MaxValue);
        Assert.Equal(Enumerable.Range(0, 1003), real.OrderBy(i => i)); // 1003 = 47 × 21 + 16: the last step holds 16 (6, 5, 5)
        Assert.Equal(real.Count, all.Count); // no padding
        Assert.Equal(new SamplerCursor(0, 1003), cursor);
        // 101 = 2 × 50 + 1: the last step's one position goes to rank 0; ranks 1..3 read one padding position (weight 0).
        var last = Enumerable.Range(0, 4).Select(r => new DistributedSampler(101, Opts, 4, r)).Select(s => s.MicroBatches(s.Plan(50, 13), SamplerCursor.Start)[^1]).ToArray();
        Assert.All(last, m => Assert.Equal((100L, 1, 1), (m.StepStart, m.StepReal, m.RankCount)));
        Assert.Equal([1, 0, 0, 0], last.Select(m => m.RankValid));
        var (real101, all101, _) = Run(101, Opts, 4, 50, 13, SamplerCursor.Start, int.MaxValue);
        Assert.Equal(Enumerable.Range(0, 101), real101.OrderBy(i => i));
        Assert.Equal(104, all101.Count);
    }

    [Fact]
    public void Ranks_of_a_step_take_near_equal_disjoint_contiguous_slices_and_fewer_ranks_take_more_micro_batches()
    {
        var seq = new DistributedSampler(200, Opts, 1, 0).Sequence(1).ToArray();
        var cursor = new SamplerCursor(1, 40);
        int[][] expected = [[40, 41, 42, 43], [44, 45, 46], [47, 48, 49]]; // 10 over 3 ranks
        for (var r = 0; r < 3; r++)
        {
            var s = new DistributedSampler(200, Opts, 3, r);
            var m = s.MicroBatches(s.Plan(10, 5), cursor)[0];
            Assert.True(m.LastOfStep);
            var buf = new int[m.RankCount];
            s.Fill(1, m, buf);
            Assert.Equal(expected[r].Select(p => seq[p]), buf);
            Assert.Equal(50, m.End);
        }
        // The same global batch on one rank: two micro-batches of 5 (gradient accumulation), the same positions.
        var one = new DistributedSampler(200, Opts, 1, 0);
        var micro = one.MicroBatches(one.Plan(10, 5), cursor).Take(2).ToArray();
        Assert.Equal([(40L, 5, false), (45L, 5, true)], micro.Select(m => (m.RankStart, m.RankCount, m.LastOfStep)));
        Assert.All(micro, m => Assert.Equal((40L, 10, 2), (m.StepStart, m.StepReal, m.StepMicroBatches)));
        Assert.True(micro[0].UniformStep(1));
        Assert.False(new DistributedSampler(200, Opts, 3, 0).MicroBatches(new BatchPlan(10, 5, 3), cursor)[0].UniformStep(3));
    }

    [Fact]
    public void Permutation_is_deterministic_per_seed_and_epoch()
    {
        var a = new DistributedSampler(1000, Opts, 2, 0);
        var b = new DistributedSampler(1000, Opts, 5, 3);
        Assert.Equal(a.Sequence(7).ToArray(), b.Sequence(7).ToArray());
        Assert.NotEqual(a.Sequence(7).ToArray(), a.Sequence(8).ToArray());
        Assert.NotEqual(a.Sequence(7).ToArray(), new DistributedSampler(1000, Opts with { Seed = 43 }, 2, 0).Sequence(7).ToArray());
        Assert.Equal(Enumerable.Range(0, 1000), a.Sequence(7).ToArray().OrderBy(i => i));
        // Pinned values: a change in the shuffle or RNG would silently change every resumed job's data order.
        Assert.Equal(Permutation.Create(10, 123), Permutation.Create(10, 123));
        var rng = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, rng.NextUInt64());
    }

    [Fact]
    public void Weighted_sampling_is_deterministic_and_follows_the_weights()
    {
        var weights = new double[100];
        for (int i = 0; i < 100; i++) weights[i] = i < 10 ? 9.0 : (i == 50 ? 0.0 : 0.1);
        var o = Opts with { Weights = weights, NumSamples = 5000 };
        var a = new DistributedSampler(100, o, 1, 0).Sequence(2).ToArray();
        var b = new DistributedSampler(100, o, 4, 2).Sequence(2).ToArray();
        Assert.Equal(5000, a.Length);
        Assert.Equal(a, b);
        Assert.NotEqual(a, new DistributedSampler(100, o, 1, 0).Sequence(3).ToArray());
        Assert.DoesNotContain(50, a);
        double heavy = a.Count(i => i < 10) / 5000.0; // expected 90 / (90 + 8.9) ≈ 0.91
        Assert.InRange(heavy, 0.88, 0.94);
        Assert.Contains(a, i => i >= 10);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(1, 2)]
    [InlineData(3, 4)]
    public void Weighted_draws_are_consumed_exactly_once_in_order_across_a_world_size_change(int before, int after)
    {
        // Exactly-once for weighted sampling: the epoch's drawn sequence (with its repeats) is consumed position by
        // position, each position once.
        var weights = Enumerable.Range(0, 50).Select(i => 1.0 + i % 7).ToArray();
        var o = Opts with { Weights = weights, NumSamples = 503 };
        var drawn = new DistributedSampler(50, o, 1, 0).Sequence(1).ToArray();
        var (first, _, cursor) = Run(50, o, before, 12, 6, new SamplerCursor(1, 0), 9);
        var (rest, _, _) = Run(50, o, after, 12, 6, cursor, int.MaxValue);
        Assert.Equal(drawn.OrderBy(i => i), first.Concat(rest).OrderBy(i => i));
        Assert.True(drawn.Distinct().Count() < drawn.Length); // the draw does repeat samples: they are trained as drawn
    }

    [Fact]
    public void The_sampler_reads_the_one_epoch_sequence_the_coordinator_plans_with()
    {
        Assert.Equal(EpochSequence.Shuffled(42, 3, 777), new DistributedSampler(777, Opts, 3, 1).Sequence(3).ToArray());
        Assert.Equal(EpochSequence.InOrder(20), new DistributedSampler(20, Opts with { Shuffle = false }, 1, 0).Sequence(0).ToArray());
        var weights = Enumerable.Range(0, 10).Select(i => (double)i).ToArray();
        var cumulative = weights.Select((_, i) => weights.Take(i + 1).Sum()).ToArray();
        Assert.Equal(EpochSequence.Weighted(42, 2, cumulative, 30), new DistributedSampler(10, Opts with { Weights = weights, NumSamples = 30 }, 2, 0).Sequence(2).ToArray());
    }

    [Fact]
    public void A_cursor_beyond_the_epoch_or_a_plan_of_another_world_is_refused()
    {
        var s = new DistributedSampler(100, Opts, 2, 1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => s.MicroBatches(s.Plan(8, 4), new SamplerCursor(0, 101)));
        Assert.Contains("epoch length 100", ex.Message);
        Assert.Throws<ArgumentException>(() => s.MicroBatches(new BatchPlan(8, 4, 3), SamplerCursor.Start));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(100, Opts, 2, 2));
    }

    [Fact]
    public void Steps_remaining_follows_drop_last()
    {
        var pad = new BatchPlan(21, 7, 3);
        var drop = new BatchPlan(21, 7, 3, dropLast: true);
        Assert.Equal(5, pad.StepsRemaining(0, 100));   // 100 / 21 = 4.76
        Assert.Equal(4, drop.StepsRemaining(0, 100));
        Assert.Equal(0, pad.StepsRemaining(100, 100));
        Assert.Equal(0, drop.StepsRemaining(84, 100));
        Assert.Equal(2, new BatchPlan(128, 64, 1).Accumulation);
        Assert.Equal(1, new BatchPlan(128, 64, 3).Accumulation);
    }
}
