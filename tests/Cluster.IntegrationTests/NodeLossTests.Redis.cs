using System.Diagnostics;
using Cluster.Coordinator.Contracts;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>Redis (membership and job state, AOF on) restarted under a running job.</summary>
public sealed partial class NodeLossTests
{
    [Fact]
    public async Task Restarting_redis_mid_job_loses_no_rank_and_no_sample()
    {
        const int epochs = 200;
        var (spec, audit, root) = WriteSpec("redis", epochs);
        var jobId = await SubmitAsync(spec);
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint is not null && s.Step >= 60, TimeSpan.FromSeconds(120), "a committed checkpoint");
        var clock = Stopwatch.StartNew();
        await cluster.RestartRedisAsync(TimeSpan.FromSeconds(15));
        output.WriteLine($"redis-server killed at step {running.Step}, started again after {clock.Elapsed.TotalSeconds:F2} s");

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(180), "completion");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{cluster.AgentOutput()}");
        output.WriteLine($"completed in generation {done.Generation}; recoveries: {string.Join("; ", done.Recoveries?.Select(r => r.Reason) ?? [])}");
        Assert.True(done.Generation == 1, $"the outage cost ranks: {string.Join("; ", done.Recoveries?.Select(r => r.Reason) ?? [])}\n{cluster.AgentOutput()}");
        Assert.True(done.LastCommittedCheckpoint!.CheckpointId > running.LastCommittedCheckpoint!.CheckpointId, "checkpoints commit again after the restart");
        await AuditExactlyOnceAsync(audit, epochs);
        AssertOneChain(root);

        // Any rank's log, from a host that runs none of them, through the cluster (the rank's agent serves it).
        var rank = done.Ranks.Single(r => r.Rank == 2);
        var logs = await CliRunner.RunAsync(Cli, "logs", jobId, "--rank", "2", "--redis", cluster.Redis);
        Assert.True(logs.ExitCode == 0 && logs.Stdout.Contains($"{rank.MemberId}: rank 2 of 3, generation 1", StringComparison.Ordinal)
            && logs.Stdout.Contains($"[agent] {rank.MemberId} exited with code 0", StringComparison.Ordinal), logs.ToString());
        var none = await CliRunner.RunAsync(Cli, "logs", jobId, "--rank", "7", "--redis", cluster.Redis);
        Assert.True(none.ExitCode == 2 && none.Stderr.Contains("has no rank 7", StringComparison.Ordinal), none.ToString());
    }
}
