using Xunit;
using Xunit.Abstractions;

namespace Cluster.Collectives.Tests;

/// <summary>Every collective, dtype and op across real worker processes over real sockets / shared memory.
/// Each worker checks its results against a float64 reference (see TestValues for the stated tolerances).</summary>
public sealed class MultiProcessCollectiveTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(2, "Tcp", "h0,h1", 65536, 11)]
    [InlineData(3, "Tcp", "h0,h1,h2", 0, 12)]          // small limit 0: the pipelined ring handles every size, incl. count < world
    [InlineData(4, "Tcp", "h0,h1,h2,h3", 65536, 13)]
    [InlineData(2, "Shm", "a,a", 65536, 14)]
    [InlineData(3, "Auto", "a,a,a", 0, 15)]             // all shared memory
    [InlineData(4, "Auto", "a,b,a,b", 65536, 16)]        // mixed: 0-2 and 1-3 over shared memory, the rest over TCP
    public void Suite_matches_float64_reference(int world, string transport, string hosts, int small, int seed)
    {
        using var cluster = WorkerCluster.Start(world, output, Deadline,
            "--mode", "suite", "--transport", transport, "--hosts", hosts, "--small", small.ToString(), "--seed", seed.ToString());
        cluster.AssertAllDone(Deadline);
    }

    [Fact]
    public void AllReduce_larger_than_64_MiB_over_tcp()
    {
        using var cluster = WorkerCluster.Start(2, output, Deadline, "--mode", "large", "--transport", "Tcp", "--seed", "21");
        cluster.AssertAllDone(Deadline);
    }
}
