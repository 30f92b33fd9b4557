using Cluster.Training.Engine;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class RankMallocSettingsTests
{
    [Fact]
    public void Defaults_fill_an_empty_environment()
    {
        var env = new Dictionary<string, string?>();
        RankMallocSettings.ApplyTo(env);
        Assert.Equal("1", env["MALLOC_ARENA_MAX"]);
        Assert.Equal("33554432", env["MALLOC_MMAP_THRESHOLD_"]); // glibc refuses a larger mmap threshold on 64-bit
        Assert.Equal("1073741824", env["MALLOC_TRIM_THRESHOLD_"]);
    }

    [Fact]
    public void A_users_value_wins_and_an_empty_one_counts_as_unset()
    {
        var env = new Dictionary<string, string?> { ["MALLOC_ARENA_MAX"] = "4", ["MALLOC_TRIM_THRESHOLD_"] = "", ["PATH"] = "/bin" };
        RankMallocSettings.ApplyTo(env);
        Assert.Equal("4", env["MALLOC_ARENA_MAX"]);
        Assert.Equal("1073741824", env["MALLOC_TRIM_THRESHOLD_"]);
        Assert.Equal("33554432", env["MALLOC_MMAP_THRESHOLD_"]);
        Assert.Equal("/bin", env["PATH"]);
        Assert.Equal(4, env.Count);
    }
}
