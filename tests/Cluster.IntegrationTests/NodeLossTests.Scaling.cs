using System.Diagnostics;
using Cluster.Coordinator.Contracts;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>Planned resizes on separate hosts: `cluster scale` down and up, and an agent stopped with SIGTERM.</summary>
public sealed partial class NodeLossTests
{
    [Fact]
    public async Task Scaling_3_2_3_1_2_and_a_SIGTERM_drain_resize_at_step_boundaries_without_losing_a_step_or_a_sample()
    {
        const int epochs = 500; // long enough for five resizes, three of them an agent's rank start (a few seconds each)
        var (spec, audit, root) = WriteSpec("scaling", epochs, "{ min: 1, max: 3, nprocPerNode: 1, minRanks: 1 }");
        var jobId = await SubmitAsync(spec);
        var running = await WaitForAsync(jobId, s => s.Ranks.Count == 3 && s.LastCommittedCheckpoint is not null && s.Step >= 60 && s.Coordinator is not null,
            TimeSpan.FromSeconds(120), "three ranks and a committed checkpoint");

        var refused = await CliRunner.RunAsync(Cli, "scale", jobId, "--workers", "4", "--redis", cluster.Redis);
        Assert.True(refused.ExitCode == 2 && refused.Stderr.Contains("within workers.min..workers.max (1..3); got 4", StringComparison.Ordinal), refused.ToString());

        var two = await ScaleToAsync(jobId, 2);
        Assert.Equal(2, two.TargetWorkers);
        var left = running.Ranks.Single(r => two.Ranks.All(t => t.NodeId != r.NodeId));
        Assert.True(await ClusterTestPoll.ProcessesGoneAsync([left.Pid], TimeSpan.FromSeconds(20)), $"{left.MemberId} did not leave");
        Assert.Equal(0, await LastExitCodeAsync(jobId, left.MemberId));
        await ScaleToAsync(jobId, 3);
        await ScaleToAsync(jobId, 1);
        var again = await ScaleToAsync(jobId, 2);

        // SIGTERM to an agent (not the coordinator's: its silo would move the job grain as well): the node drains.
        var victim = again.Ranks.First(r => !HostsCoordinator(again, r.NodeId));
        var host = HostOf(victim.NodeId);
        var agent = cluster.Agent(host)!;
        var clock = Stopwatch.StartNew();
        cluster.TerminateAgent(host);
        var drained = await WaitForAsync(jobId, s => s.Ranks.Count == 1 && s.Recoveries is [.., { Planned: true, Drained: { } d, Seconds: not null }] && d.Contains(victim.NodeId),
            TimeSpan.FromSeconds(30), $"node {victim.NodeId} drained");
        output.WriteLine($"SIGTERM to {victim.NodeId}: {drained.Recoveries![^1].Reason}, trains again {drained.Recoveries[^1].Seconds:F2} s after the decision (seen at {clock.Elapsed.TotalSeconds:F2} s)");
        AssertNoRollback(drained.Recoveries[^1]);
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        Assert.Contains("drain accepted", agent.Output, StringComparison.Ordinal);
        Assert.Equal(0, await LastExitCodeAsync(jobId, victim.MemberId));

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(240), "completion");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{cluster.AgentOutput()}");
        // Five resizes; after the drain the job is below its target of 2 again, so a waiting agent may be admitted as well.
        Assert.InRange(done.Recoveries!.Count, 5, 6);
        Assert.All(done.Recoveries!, r => Assert.True(r.Planned || r.Admission, $"not planned: {r.Reason}")); // no loss, no restart
        await AuditExactlyOnceAsync(audit, epochs);
        AssertOneChain(root);
        var status = await CliRunner.RunAsync(Cli, "status", jobId, "--redis", cluster.Redis);
        Assert.True(status.ExitCode == 0 && status.Stdout.Contains("scaled to   2 worker(s)", StringComparison.Ordinal)
            && status.Stdout.Contains("(planned, at a step boundary)", StringComparison.Ordinal), status.ToString());
    }

    /// <summary>`cluster scale` to <paramref name="workers"/>, then the job trains with that many ranks after a planned change.</summary>
    private async Task<JobStatus> ScaleToAsync(string jobId, int workers)
    {
        var before = (await Job(jobId).GetStatus().WaitAsync(TimeSpan.FromSeconds(10))).Recoveries?.Count ?? 0;
        var clock = Stopwatch.StartNew();
        var result = await CliRunner.RunAsync(Cli, "scale", jobId, "--workers", $"{workers}", "--redis", cluster.Redis);
        Assert.True(result.ExitCode == 0, result.ToString());
        var status = await WaitForAsync(jobId, s => s.Ranks.Count == workers && s.Recoveries is { } r && r.Count > before && r[^1] is { Seconds: not null } last && (last.Planned || last.Admission),
            TimeSpan.FromSeconds(60), $"{workers} rank(s) after the scale");
        var record = status.Recoveries![^1];
        output.WriteLine($"scale to {workers}: {record.Reason}; trains {record.Seconds:F2} s after the decision, seen {clock.Elapsed.TotalSeconds:F2} s after the command");
        AssertNoRollback(record);
        return status;
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
