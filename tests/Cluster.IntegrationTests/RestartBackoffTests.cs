using Cluster.Agent.Node;
using Xunit;

namespace Cluster.IntegrationTests;

public sealed class RestartBackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(2);

    [Fact]
    public void A_crash_loop_doubles_the_back_off_up_to_a_minute_and_a_rank_that_ran_a_while_starts_over()
    {
        var quick = TimeSpan.FromSeconds(5);
        var (first, streak) = RestartBackoff.Next(Base, 0, quick);
        Assert.Equal((TimeSpan.FromSeconds(2), 1), (first, streak));
        var delays = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            (var delay, streak) = RestartBackoff.Next(Base, streak, quick);
            delays.Add(delay.TotalSeconds);
        }
        Assert.Equal([4, 8, 16, 32, 60, 60, 60], delays);
        Assert.Equal(TimeSpan.FromSeconds(2), RestartBackoff.Next(Base, streak, TimeSpan.FromMinutes(2)).Delay); // ran 2 min: not a loop
        Assert.Equal(TimeSpan.Zero, RestartBackoff.Next(TimeSpan.Zero, 5, quick).Delay); // no back-off asked, none given
        Assert.Equal(TimeSpan.FromSeconds(90), RestartBackoff.Next(TimeSpan.FromSeconds(90), 3, quick).Delay); // a longer base is kept
    }
}
