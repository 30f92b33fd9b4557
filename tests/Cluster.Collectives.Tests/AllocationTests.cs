using Xunit;

namespace Cluster.Collectives.Tests;

/// <summary>The hot path allocates nothing per call (pooled scratch, reused operation context and poll lists).</summary>
public sealed class AllocationTests
{
    [Theory]
    [InlineData(1024, ReduceOp.Sum)]          // 4 KiB: recursive doubling
    [InlineData(300_000, ReduceOp.Average)]   // 1.2 MB: pipelined ring
    public async Task Steady_state_all_reduce_does_not_allocate(int count, ReduceOp op)
    {
        var comms = await InProcessWorld.CreateAsync(2);
        try
        {
            // Three windows of 50 calls: a per-call allocation shows in every one; a one-off of the runtime under load
            // (a thread-pool or timer path on the measuring thread) shows in one at most, so the fewest must be zero.
            var allocated = new long[2][];
            await InProcessWorld.RunAsync(comms, async c =>
            {
                var data = new float[count];
                for (var i = 0; i < 20; i++) await c.AllReduceAsync<float>(data, op);
                await c.BarrierAsync(); // the measured window ends with a barrier: warm its path up too
                var windows = new long[3];
                for (var w = 0; w < windows.Length; w++)
                {
                    var before = GC.GetAllocatedBytesForCurrentThread();
                    for (var i = 0; i < 50; i++) await c.AllReduceAsync<float>(data, op);
                    await c.BarrierAsync();
                    windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
                }
                allocated[c.Rank] = windows;
            });
            Assert.True(allocated.All(w => w.Min() == 0), string.Join("; ", allocated.Select((w, r) => $"rank {r}: {string.Join(", ", w)} bytes")));
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }
}
