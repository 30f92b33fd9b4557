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
            var allocated = new long[2];
            await InProcessWorld.RunAsync(comms, async c =>
            {
                var data = new float[count];
                for (var i = 0; i < 20; i++) await c.AllReduceAsync<float>(data, op);
                await c.BarrierAsync(); // the measured window ends with a barrier: warm its path up too
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < 50; i++) await c.AllReduceAsync<float>(data, op);
                await c.BarrierAsync();
                allocated[c.Rank] = GC.GetAllocatedBytesForCurrentThread() - before;
            });
            Assert.Equal([0L, 0L], allocated);
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }
}
