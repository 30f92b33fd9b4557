using Cluster.Training.Engine;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class OpenMpWaitPolicyTests
{
    [Fact]
    public void Unknown_policy_is_rejected_before_touching_the_environment()
    {
        var before = OpenMpWaitPolicy.Current;
        var ex = Assert.Throws<ArgumentException>(() => OpenMpWaitPolicy.Apply("sometimes"));
        Assert.Contains("PASSIVE or ACTIVE", ex.Message);
        Assert.Equal(before, OpenMpWaitPolicy.Current);
    }
}
