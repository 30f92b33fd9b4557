using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Coordinator.Contracts;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.IntegrationTests;

/// <summary>Clustered mode end to end: three agent processes on 127.0.0.1 sharing a real redis-server.</summary>
[Collection(AgentProcessesCollection.Name)]
public sealed class ClusterAgentsTests(ClusterAgentsFixture cluster, ITestOutputHelper output) : IClassFixture<ClusterAgentsFixture>
{
    /// <summary>No restart budget: a lost rank fails the job at once (these tests time the failure path).</summary>
    private const string NoRestart = "restart: { maxRestarts: 0 }";

    private static readonly TimeSpan Cli = TimeSpan.FromSeconds(60);

    private IJobGrain Job(string id) => cluster.Client.Grains.GetGrain<IJobGrain>(id);

    private async Task<string> SubmitAsync(string spec, string? id = null)
    {
        var args = new List<string> { "submit", spec, "--redis", cluster.Redis };
        if (id is not null) args.AddRange(["--id", id]);
        var result = await CliRunner.RunAsync(Cli, [.. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Trim().Split('\n')[^1].Trim();
    }

    private Task<JobStatus> WaitForAsync(string jobId, Func<JobStatus, bool> condition, TimeSpan deadline, string what) =>
        ClusterTestPoll.UntilAsync(async () =>
        {
            var s = await Job(jobId).GetStatus();
            return condition(s) ? s : null;
        }, deadline, () => $"job {jobId}: {what}\n{AgentOutput()}");

    private static string Name(string jobId) => jobId[..jobId.LastIndexOf('-')];

    private string AgentOutput() => string.Join("\n", cluster.Agents.Select(a => $"--- {a.Name}\n{a.Output}"));

    [Fact]
    public async Task Submitted_three_rank_job_runs_on_three_agents_and_commits_checkpoints()
    {
        var jobId = await SubmitAsync(cluster.WriteSpec("three", epochs: 3, checkpointInterval: 5));
        var running = await WaitForAsync(jobId, s => s.State is JobState.Running or JobState.Checkpointing or JobState.Completed && s.Generation > 0,
            TimeSpan.FromSeconds(90), "ranks assigned");
        Assert.Equal(["node-0/0", "node-1/0", "node-2/0"], running.Ranks.OrderBy(r => r.Rank).Select(r => r.MemberId));

        var status = await CliRunner.RunAsync(Cli, "status", jobId, "--redis", cluster.Redis);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains($"job         {jobId}", status.Stdout);
        Assert.Contains("generation  1", status.Stdout);
        Assert.Contains("node-2/0", status.Stdout);
        Assert.Contains("127.0.0.1:", status.Stdout);

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(120), "completion");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{AgentOutput()}");
        Assert.Equal(30, done.Step);

        var json = await CliRunner.RunAsync(Cli, "status", jobId, "--redis", cluster.Redis, "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using (var doc = JsonDocument.Parse(json.Stdout.Trim()))
        {
            Assert.Equal("completed", doc.RootElement.GetProperty("status").GetProperty("state").GetString());
            Assert.Equal(30, doc.RootElement.GetProperty("report").GetProperty("result").GetProperty("steps").GetInt64());
        }

        // keepLast 2 of 6 checkpoints (steps 5, 10 (end of epoch 1), 15, 20, 25, 30): exactly ckpt 5 and 6 remain, each with a
        // manifest whose files verify; rank 0 wrote every file, and the last one is the final save of the finished run.
        var dirs = Directory.GetDirectories(cluster.CheckpointRoot(Name(jobId))).Order().ToList();
        Assert.Equal(["ckpt-00000005", "ckpt-00000006"], dirs.Select(Path.GetFileName));
        foreach (var dir in dirs)
        {
            var manifest = CheckpointFiles.TryRead(dir);
            Assert.NotNull(manifest);
            Assert.Equal(3, manifest!.WorldSize);
            Assert.Equal(0, Assert.Single(manifest.Ranks).Rank);
            Assert.Equal(dir.EndsWith("6", StringComparison.Ordinal), manifest.Final);
            CheckpointFiles.Verify(manifest);
            foreach (var file in manifest.Ranks.SelectMany(r => r.Files))
            {
                var bytes = await File.ReadAllBytesAsync(Path.Combine(dir, file.Name));
                Assert.Equal(file.Size, bytes.Length);
                Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }
            Assert.Contains(manifest.Ranks.Single(r => r.Rank == 0).Files, f => f.Name == "model.bin");
        }
        Assert.Equal(30, (await Job(jobId).GetLatestCheckpoint())!.Step);

        var logs = await CliRunner.RunAsync(Cli, "logs", jobId, "--rank", "0", "--logs", cluster.Logs);
        Assert.True(logs.ExitCode == 0, logs.ToString());
        Assert.Contains("finished: completed", logs.Stdout);
        var follow = await CliRunner.RunAsync(Cli, "logs", jobId, "--follow", "--logs", cluster.Logs); // returns once every rank's log shows its exit
        Assert.True(follow.ExitCode == 0, follow.ToString());
        foreach (var node in new[] { "node-0-0", "node-1-0", "node-2-0" }) Assert.Contains($"[{node}] [agent] {node[..^2]}/0 exited with code 0", follow.Stdout);
    }

    [Fact]
    public async Task Killing_a_worker_fails_the_job_within_seconds_naming_the_rank_and_leaves_no_process()
    {
        var jobId = await SubmitAsync(cluster.WriteSpec("kill", epochs: 100000, checkpointInterval: 5, restart: NoRestart));
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint is not null && s.Step >= 6, TimeSpan.FromSeconds(120), "a committed checkpoint");
        var pids = running.Ranks.Select(r => r.Pid).ToList();
        var victim = running.Ranks.Single(r => r.Rank == 1);
        var clock = Stopwatch.StartNew();
        using (var p = Process.GetProcessById(victim.Pid)) p.Kill(); // SIGKILL

        var failed = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(10), "failure after kill -9 of rank 1");
        output.WriteLine($"failed after {clock.Elapsed.TotalSeconds:F2} s: {failed.FailureReason}");
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains("rank 1", failed.FailureReason);
        Assert.True(await ClusterTestPoll.ProcessesGoneAsync(pids, TimeSpan.FromSeconds(15)),
            $"rank processes still alive: {string.Join(",", pids.Where(ClusterTestPoll.Alive))}");
        var dirs = Directory.GetDirectories(cluster.CheckpointRoot(Name(jobId)));
        Assert.NotEmpty(dirs);
        foreach (var dir in dirs)
            Assert.True(File.Exists(Path.Combine(dir, CheckpointFiles.ManifestFileName)), $"{dir} has no manifest (uncommitted checkpoint left visible)");
    }

    [Fact]
    public async Task Killing_a_worker_of_a_job_that_may_shrink_regroups_the_survivors_in_their_processes_and_completes()
    {
        var jobId = await SubmitAsync(cluster.WriteSpec("shrink", epochs: 30, checkpointInterval: 5, minRanks: 2));
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint is not null && s.Step >= 6, TimeSpan.FromSeconds(120), "a committed checkpoint");
        var victim = running.Ranks.Single(r => r.Rank == 1);
        var survivors = running.Ranks.Where(r => r.Rank != 1).OrderBy(r => r.Rank).Select(r => (r.MemberId, r.Pid)).ToList();
        var clock = Stopwatch.StartNew();
        using (var p = Process.GetProcessById(victim.Pid)) p.Kill(); // SIGKILL

        var regrouped = await WaitForAsync(jobId, s => s.Generation == 2 && s.State is JobState.Running or JobState.Checkpointing or JobState.Completed,
            TimeSpan.FromSeconds(20), "generation 2 of the survivors training");
        output.WriteLine($"kill -> generation 2 training (seen by polling the status): {clock.Elapsed.TotalSeconds:F2} s");
        var record = Assert.Single(regrouped.Recoveries!);
        output.WriteLine($"decision -> first step of generation 2: {record.Seconds:F3} s; {record.Reason}");
        Assert.Equal((1L, 2L, 2), (record.FromGeneration, record.ToGeneration, record.WorldSize));
        Assert.Contains("rank 1 exited with code 137", record.Reason);
        Assert.InRange(record.Seconds!.Value, 0, 10);
        // The survivors are the same processes, renumbered 0 and 1 in their order.
        Assert.Equal(survivors, regrouped.Ranks.OrderBy(r => r.Rank).Select(r => (r.MemberId, r.Pid)));

        var done = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(120), "completion after the regroup");
        Assert.True(done.State == JobState.Completed, $"{done.State}: {done.FailureReason}\n{AgentOutput()}");
        Assert.Equal(2, done.Generation);
        Assert.True(done.Step > running.Step, $"step {done.Step} after the kill at step {running.Step}");
        var manifest = (await Job(jobId).GetLatestCheckpoint())!;
        Assert.True(manifest.Final, "the last checkpoint is the final save of generation 2");
        Assert.Equal(2, manifest.WorldSize);
    }

    [Fact]
    public async Task Killing_a_rank_during_a_checkpoint_write_keeps_the_previous_checkpoint_newest()
    {
        // No hook in the product: rank 0 is stopped (SIGSTOP) the moment checkpoint k's directory appears, i.e. while it
        // writes; if that write still won the race (checkpoint k committed), it is resumed and the next one is tried.
        var jobId = await SubmitAsync(cluster.WriteSpec("hold", epochs: 100000, checkpointInterval: 5, restart: NoRestart));
        var running = await WaitForAsync(jobId, s => s.LastCommittedCheckpoint?.CheckpointId >= 1, TimeSpan.FromSeconds(120), "checkpoint 1 committed");
        var root = cluster.CheckpointRoot(Name(jobId));
        var pids = running.Ranks.Select(r => r.Pid).ToList();
        var rank0 = running.Ranks.Single(r => r.Rank == 0).Pid;
        JobStatus? held = null;
        string open = "";
        for (var k = running.LastCommittedCheckpoint!.CheckpointId + 1; held is null && k < running.LastCommittedCheckpoint.CheckpointId + 20; k++)
        {
            open = CheckpointFiles.DirectoryOf(root, k);
            var watch = Stopwatch.StartNew();
            while (!Directory.Exists(open) && watch.Elapsed < TimeSpan.FromSeconds(30)) Thread.SpinWait(100);
            Assert.True(Directory.Exists(open), $"checkpoint {k} never opened\n{AgentOutput()}");
            Signals.Stop(rank0);
            // A vote rank 0 handed its agent just before the stop still goes out with the node's next beat: look after it.
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            var status = await Job(jobId).GetStatus();
            if (status.OpenCheckpointId == k && status.LastCommittedCheckpoint?.CheckpointId == k - 1) held = status;
            else Signals.Continue(rank0);
        }
        Assert.NotNull(held);
        output.WriteLine($"rank 0 stopped while checkpoint {held!.OpenCheckpointId} was open");
        using (var p = Process.GetProcessById(rank0)) p.Kill();

        var failed = await WaitForAsync(jobId, s => s.State.IsTerminal(), TimeSpan.FromSeconds(10), "failure after killing rank 0 mid-checkpoint");
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains("rank 0", failed.FailureReason);
        var previous = held.OpenCheckpointId!.Value - 1;
        Assert.Equal(previous, failed.LastCommittedCheckpoint!.CheckpointId);
        Assert.Equal(previous, (await Job(jobId).GetLatestCheckpoint())!.CheckpointId);
        Assert.False(Directory.Exists(open), "the aborted checkpoint's directory was not removed");
        Assert.Equal(previous, CheckpointLineage.Scan(root, 2).Latest!.CheckpointId);
        Assert.True(await ClusterTestPoll.ProcessesGoneAsync(pids, TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task A_rank_with_a_wrong_job_secret_is_refused_by_its_node_agent()
    {
        // 4 nodes needed: the job stays in rendezvous while the impostor tries to attach to node-0's local channel (grain-level
        // joins with a wrong proof are refused too: JobGrainTests).
        var spec = cluster.WriteSpec("secret", epochs: 1, checkpointInterval: 0);
        File.WriteAllText(spec, File.ReadAllText(spec).Replace("min: 3, max: 3", "min: 4, max: 4"));
        var jobId = await SubmitAsync(spec);
        var agent = cluster.Agents[0];
        await agent.WaitForOutputAsync($"job {jobId}: node node-0 local channel at ", TimeSpan.FromSeconds(30));
        var line = agent.Output.Split('\n').First(l => l.Contains($"job {jobId}: node node-0 local channel at ", StringComparison.Ordinal));
        var socket = line[(line.IndexOf(" local channel at ", StringComparison.Ordinal) + " local channel at ".Length)..].Trim();
        using var impostor = ClusterTestProcess.StartCli("impostor", new Dictionary<string, string>
        {
            [WorkerEnvironment.JobId] = jobId,
            [WorkerEnvironment.JobSecret] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            [WorkerEnvironment.NodeId] = "node-0",
            [WorkerEnvironment.LocalRank] = "0",
            [WorkerEnvironment.Coordinator] = await GatewayAsync(),
            ["CLUSTER_AGENT_SOCKET"] = socket,
            ["CLUSTER_ORLEANS_CLUSTER_ID"] = "cluster",
            ["CLUSTER_ORLEANS_SERVICE_ID"] = "cluster",
        }, "worker", "--coordinated");
        Assert.Equal(4, await impostor.WaitForExitAsync(TimeSpan.FromSeconds(60))); // RankExitCodes.Refused
        Assert.Contains("does not match the job secret", impostor.Output);
        var status = await Job(jobId).GetStatus();
        Assert.Equal(JobState.Rendezvous, status.State);
        Assert.Empty(status.Ranks);
        var cancel = await CliRunner.RunAsync(Cli, "cancel", jobId, "--redis", cluster.Redis);
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Contains("cancelled", cancel.Stdout);
    }

    private async Task<string> GatewayAsync()
    {
        var agent = cluster.Agents[0];
        await agent.WaitForOutputAsync("gateway ", TimeSpan.FromSeconds(5));
        var line = agent.Output.Split('\n').First(l => l.Contains("ready:", StringComparison.Ordinal));
        return line[(line.IndexOf("gateway ", StringComparison.Ordinal) + 8)..].Split(',')[0].Trim();
    }
}
