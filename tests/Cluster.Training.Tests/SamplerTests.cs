using Cluster.Coordinator.Contracts.Data;
using Cluster.Training.Data;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class SamplerTests
{
    private static readonly DistributedSamplerOptions Opts = new() { Seed = 42 };

    /// <summary>Runs all ranks of world <paramref name="world"/> from <paramref name="cursor"/> for at most
    /// <paramref name="maxSteps"/> steps; returns the indices seen and the cursor after.</summary>
    private static (List<int> Seen, SamplerCursor Cursor) Run(int n, DistributedSamplerOptions o, int world, int batch, SamplerCursor cursor, int maxSteps)
    {
        var samplers = Enumerable.Range(0, world).Select(r => new DistributedSampler(n, o, world, r)).ToArray();
        foreach (var s in samplers) s.Restore(cursor);
        var seen = new List<int>();
        var buf = new int[batch];
        for (int step = 0; step < maxSteps; step++)
        {
            bool any = false;
            foreach (var s in samplers)
            {
                bool got = s.TryNextBatch(batch, buf);
                Assert.Equal(samplers[0].Cursor, s.Cursor); // all ranks stay in lockstep
                if (got) { any = true; seen.AddRange(buf); }
            }
            if (!any) break;
        }
        return (seen, samplers[0].Save());
    }

    [Theory]
    [InlineData(2, 3, 1003, 7, 5)]
    [InlineData(4, 1, 1000, 8, 11)]
    [InlineData(3, 2, 500, 16, 3)]
    public void Every_sample_is_seen_exactly_once_across_a_world_size_change(int w1, int w2, int n, int batch, int stepsBefore)
    {
        var o = Opts with { DropLast = true };
        var (first, cursor) = Run(n, o, w1, batch, new SamplerCursor(3, 0), stepsBefore);
        Assert.Equal(stepsBefore * w1 * batch, first.Count);
        Assert.Equal(new SamplerCursor(3, stepsBefore * w1 * batch), cursor);
        var (rest, end) = Run(n, o, w2, batch, cursor, int.MaxValue);
        var all = first.Concat(rest).ToList();
        Assert.Equal(all.Count, all.Distinct().Count()); // no duplicates
        // With drop-last only the final partial step (< W2*B samples) is missing.
        Assert.InRange(n - all.Count, 0, w2 * batch - 1);
        Assert.Equal(n - all.Count, n - (int)end.GlobalPosition);
        // The union is exactly the prefix of the epoch's sequence.
        var seq = new DistributedSampler(n, o, 1, 0).Sequence(3).ToArray();
        Assert.Equal(seq.Take(all.Count).OrderBy(i => i), all.OrderBy(i => i));
    }

    [Fact]
    public void With_padding_the_real_samples_are_exactly_once_across_a_world_size_change()
    {
        int n = 997, batch = 6;
        var seen = new List<int>();
        var buf = new int[batch];
        void Step(int world, ref SamplerCursor cursor)
        {
            SamplerCursor next = cursor;
            for (int r = 0; r < world; r++)
            {
                var s = new DistributedSampler(n, Opts, world, r);
                int valid = s.ValidInStep(cursor, batch);
                Assert.True(s.TryGetStep(cursor, batch, buf, out next));
                seen.AddRange(buf.Take(valid));
            }
            cursor = next;
        }
        var c = SamplerCursor.Start;
        for (int i = 0; i < 10; i++) Step(4, ref c);
        var w1 = new DistributedSampler(n, Opts, 1, 0);
        while (!w1.IsEpochComplete(c, batch)) Step(1, ref c);
        Assert.Equal(Enumerable.Range(0, n), seen.OrderBy(i => i));
    }

    [Fact]
    public void Padding_covers_every_sample_and_repeats_only_in_the_final_step()
    {
        int n = 1003, world = 3, batch = 7;
        var (seen, cursor) = Run(n, Opts, world, batch, SamplerCursor.Start, int.MaxValue);
        Assert.Equal(Enumerable.Range(0, n), seen.Distinct().OrderBy(i => i));
        int steps = (n + world * batch - 1) / (world * batch);
        Assert.Equal(steps * world * batch, seen.Count);
        Assert.Equal(n, seen.Take(n).Distinct().Count());
        Assert.Equal(new SamplerCursor(0, n), cursor);
        int valid = 0;
        for (var c = SamplerCursor.Start; c.GlobalPosition < n; c = c with { GlobalPosition = c.GlobalPosition + world * batch })
        {
            for (int r = 0; r < world; r++) valid += new DistributedSampler(n, Opts, world, r).ValidInStep(c, batch);
        }
        Assert.Equal(n, valid); // padding is flagged exactly
        Assert.Equal(new SamplerCursor(1, 0), cursor.NextEpoch());
    }

    [Fact]
    public void Ranks_of_a_step_take_disjoint_contiguous_slices()
    {
        int n = 200, world = 4, batch = 5;
        var seq = new DistributedSampler(n, Opts, 1, 0).Sequence(1).ToArray();
        var cursor = new SamplerCursor(1, 40);
        for (int r = 0; r < world; r++)
        {
            var s = new DistributedSampler(n, Opts, world, r);
            var buf = new int[batch];
            Assert.True(s.TryGetStep(cursor, batch, buf, out var next));
            Assert.Equal(seq.Skip(40 + r * batch).Take(batch), buf);
            Assert.Equal(new SamplerCursor(1, 60), next);
        }
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
        // position, each position once; padding of the final step is flagged and not counted.
        var weights = Enumerable.Range(0, 50).Select(i => 1.0 + i % 7).ToArray();
        var o = Opts with { Weights = weights, NumSamples = 503 };
        const int batch = 6;
        var drawn = new DistributedSampler(50, o, 1, 0).Sequence(1).ToArray();
        var consumed = new List<int>();
        var buf = new int[batch];
        var cursor = new SamplerCursor(1, 0);
        void Step(int world)
        {
            var next = cursor;
            for (var r = 0; r < world; r++)
            {
                var s = new DistributedSampler(50, o, world, r);
                var valid = s.ValidInStep(cursor, batch);
                Assert.True(s.TryGetStep(cursor, batch, buf, out next));
                consumed.AddRange(buf.Take(valid));
            }
            cursor = next;
        }
        for (var i = 0; i < 9; i++) Step(before);
        while (new DistributedSampler(50, o, after, 0).StepsRemaining(cursor, batch) > 0) Step(after);
        Assert.Equal(drawn, consumed);
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
    public void Restore_rejects_a_cursor_beyond_the_epoch()
    {
        var s = new DistributedSampler(100, Opts, 2, 1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => s.Restore(new SamplerCursor(0, 101)));
        Assert.Contains("epoch length 100", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(100, Opts, 2, 2));
    }

    [Fact]
    public void Steps_remaining_follows_drop_last_and_pad()
    {
        var pad = new DistributedSampler(100, Opts, 3, 0);
        var drop = new DistributedSampler(100, Opts with { DropLast = true }, 3, 0);
        Assert.Equal(5, pad.StepsRemaining(SamplerCursor.Start, 7));   // 100 / 21 = 4.76
        Assert.Equal(4, drop.StepsRemaining(SamplerCursor.Start, 7));
        Assert.Equal(0, pad.StepsRemaining(new SamplerCursor(0, 100), 7));
        Assert.True(drop.IsEpochComplete(new SamplerCursor(0, 84), 7));
    }
}
