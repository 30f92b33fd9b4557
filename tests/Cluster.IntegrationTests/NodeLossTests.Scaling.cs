using System.Diagnostics;
using Cluster.Coordinator.Contracts;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>Planned resizes on separate hosts: `cluster scale` down and up, and an agent stopped with SIGTERM.</summary>
public sealed partial class NodeLossTests
{
    [Fact]
    public async Task Scaling_down_and_up_and_a_SIGTERM_drain_resize_at_step_boundaries_without_losing_a_step_or_a_sample()
    {
        const int epochs = 500; // long enough for three resizes, one of them an agent's rank start (a few seconds)
        var (spec, audit, root) = WriteSpec("scaling", epochs, "{ min: 2, max: 3, nprocPerNode: 1, minRanks: 2 }");
        var jobId = await SubmitAsync(spec);
        var running = await WaitForAsync(jobId, s => s.Ranks.Count == 3 && s.LastCommittedCheckpoint is not null && s.Step >= 60 && s.Coordinator is not null,
            TimeSpan.FromSeconds(120), "three ranks and a committed checkpoint");

        var refused = await CliRunner.RunAsync(Cli, "scale", jobId, "--workers", "4", "--redis", cluster.Redis);
        Assert.True(refused.ExitCode == 2 && refused.Stderr.Contains("within workers.min..workers.max (2..3); got 4", StringComparison.Ordinal), refused.ToString());

        var clock = Stopwatch.StartNew();
        var down = await CliRunner.RunAsync(Cli, "scale", jobId, "--workers", "2", "--redis", cluster.Redis);
        Assert.True(down.ExitCode == 0, down.ToString());
        var two = await WaitForAsync(jobId, s => s.Ranks.Count == 2 && s.Recoveries is [.., { Planned: true, Seconds: not null }], TimeSpan.FromSeconds(30), "two ranks after the scale-down");
        output.WriteLine($"scale to 2: {two.Recoveries![^1].Reason}, trains again {two.Recoveries[^1].Seconds:F2} s after the decision (seen at {clock.Elapsed.TotalSeconds:F2} s)");
        AssertNoRollback(two.Recoveries[^1]);
        Assert.Equal(2, two.TargetWorkers);
        var left = running.Ranks.Single(r => two.Ranks.All(t => t.NodeId != r.NodeId));
        Assert.True(await ClusterTestPoll.ProcessesGoneAsync([left.Pid], TimeSpan.FromSeconds(20)), $"{left.MemberId} did not leave");
        Assert.Equal(0, await LastExitCodeAsync(jobId, left.MemberId));

        clock.Restart();
        var up = await CliRunner.RunAsync(Cli, "scale", jobId, "--workers", "3", "--redis", cluster.Redis);
        Assert.True(up.ExitCode == 0, up.ToString());
        var three = await WaitForAsync(jobId, s => s.Ranks.Count == 3 && s.Recoveries is [.., { Admission: true, Seconds: not null }], TimeSpan.FromSeconds(60), "three ranks after the scale-up");
        output.WriteLine($"scale to 3: {three.Recoveries![^1].Reason}, seen at {clock.Elapsed.TotalSeconds:F2} s");
        AssertNoRollback(three.Recoveries[^1]);

        // SIGTERM to an agent (not the coordinator's: its silo would move the job grain as well): the node drains.
        var victim = three.Ranks.First(r => !HostsCoordinator(three, r.NodeId));
        var host = HostOf(victim.NodeId);
        var agent = cluster.Agent(host)!;
        clock.Restart();
        cluster.TerminateAgent(host);
        var drained = await WaitForAsync(jobId, s => s.Ranks.Count == 2 && s.Recoveries is [.., { Planned: true, Drained: { } d, Seconds: not null }] && d.Contains(victim.NodeId),
            TimeSpan.FromSeconds(30), $"node {victim.NodeId} drained");
        output.WriteLine($"SIGTERM to {victim.NodeId}: {drained.Recoveries![^1].Reason}, trains again {drained.Recoveries[^1].Seconds:F2} s after the decision (seen at {clock.Elapsed.TotalSeconds:F2} s)");
        AssertNoRollback(drained.Recoveries[^1]);
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        Assert.Contains("drain accepted", agent.Output, StringComparison.Ordinal);
        Assert.Equal(0, await LastExitCodeAsync(jobId, victim.MemberId));

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(240), "completion");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{cluster.AgentOutput()}");
        Assert.Equal(3, done.Recoveries!.Count(r => r.Planned || r.Admission));
        Assert.DoesNotContain(done.Recoveries!, r => !r.Planned && !r.Admission); // no loss, no restart
        await AuditExactlyOnceAsync(audit, epochs);
        AssertOneChain(root);
        var status = await CliRunner.RunAsync(Cli, "status", jobId, "--redis", cluster.Redis);
        Assert.True(status.ExitCode == 0 && status.Stdout.Contains("scaled to   3 worker(s)", StringComparison.Ordinal)
            && status.Stdout.Contains("(planned, at a step boundary)", StringComparison.Ordinal), status.ToString());
    }

    /// <summary>
    /// The exit code of <paramref name="memberId"/>'s last run, from its own log ("[agent] node-1/0 exited with code 0", written
    /// once the process exited; the agent's console may end before its supervisor logs it).
    /// </summary>
    private async Task<int> LastExitCodeAsync(string jobId, string memberId)
    {
        var path = Path.Combine(cluster.Logs, jobId, $"{memberId.Replace('/', '-')}.log");
        var marker = $"{memberId} exited with code ";
        var line = await ClusterTestPoll.UntilAsync(() => Task.FromResult(File.Exists(path) ? File.ReadLines(path).LastOrDefault(l => l.Contains(marker, StringComparison.Ordinal)) : null),
            TimeSpan.FromSeconds(20), () => $"{memberId}'s exit in {path}");
        return int.Parse(line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A planned resize goes on from the step the ranks reached: the first step after it is not before the decision.</summary>
    private static void AssertNoRollback(RecoveryRecord record) =>
        Assert.True(record.FirstStep is { } first && first >= record.StepAtDecision,
            $"{record.Reason}: first step {record.FirstStep} after the decision at step {record.StepAtDecision}");
}
