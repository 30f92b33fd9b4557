using System.Diagnostics;
using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Training.Tests;

/// <summary>
/// Elastic recovery on the embedded default (`cluster run`): a rank killed with SIGKILL mid-epoch; the survivor keeps its
/// process and state and goes on in generation 2; the agent restarts the lost rank, which is admitted at a step boundary
/// with the survivor's state (generation 3), and the job completes.
/// </summary>
public sealed class ClusterRunRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string dir = Directory.CreateTempSubdirectory("t1-recover-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string WriteSpec(string name, string workers, int epochs = 40, string? audit = null)
    {
        var path = Path.Combine(dir, $"{name}.yaml");
        File.WriteAllText(path, $$"""
            name: {{name}}
            workers: {{workers}}
            training:
              model: { type: mlp, dropout: 0.1 }
              dataset: { type: synthetic, samples: 384, testSamples: 128, classes: 4, shape: [1, 8, 8], noise: 0.6 }
              epochs: {{epochs}}
              batchSize: 16
              optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
              # A schedule with a position: a rank that takes a state must take its learning rate too (minLr: the last steps still move the parameters).
              schedule: { type: cosine, warmupSteps: 20, minLr: 0.01 }
              seed: 5
              {{(audit is null ? "" : $"audit: {audit}")}}
            checkpoint: { dir: {{Path.Combine(dir, "ckpt")}}, intervalSteps: 5, keepLast: 2 }
            """);
        return path;
    }

    /// <summary>The pid of local rank <paramref name="local"/> of a job of spec <paramref name="name"/>, once it runs.</summary>
    private static int? RankPid(string name, int local)
    {
        foreach (var p in Process.GetProcessesByName("dotnet").Concat(Process.GetProcessesByName("cluster")))
        {
            string env;
            try { env = File.ReadAllText($"/proc/{p.Id}/environ"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var vars = env.Split('\0');
            if (vars.Contains($"CLUSTER_LOCAL_RANK={local}") && vars.Any(v => v.StartsWith($"CLUSTER_JOB_ID={name}-", StringComparison.Ordinal))) return p.Id;
        }
        return null;
    }

    /// <summary>True once a checkpoint numbered <paramref name="id"/> or later is committed under <paramref name="root"/> (older ones are pruned).</summary>
    private static bool CommittedAtLeast(string root, long id) =>
        Directory.Exists(root) && Directory.GetDirectories(root, "ckpt-*").Any(d =>
            long.TryParse(Path.GetFileName(d)["ckpt-".Length..], out var n) && n >= id && File.Exists(Path.Combine(d, CheckpointFiles.ManifestFileName)));

    /// <summary>
    /// Starts `cluster run` of a spec named <paramref name="name"/> on 2 ranks; returns the run and the pids of local ranks
    /// 1 and 0 once checkpoint <paramref name="after"/> (or a later one) is committed.
    /// </summary>
    private async Task<(Task<(int ExitCode, string Stdout, string Stderr)> Run, int Victim, int Survivor, string Root)> StartAsync(string name, string workers, long after,
        string extra = "", int epochs = 40, string? audit = null)
    {
        var (run, pids, root) = await StartRanksAsync(name, workers, after, ranks: 2, extra, epochs, audit);
        return (run, pids[1], pids[0], root);
    }

    /// <summary>As <see cref="StartAsync"/> with <paramref name="ranks"/> ranks; the pids by local rank.</summary>
    private async Task<(Task<(int ExitCode, string Stdout, string Stderr)> Run, int[] Pids, string Root)> StartRanksAsync(string name, string workers, long after, int ranks,
        string extra = "", int epochs = 40, string? audit = null, string? logs = null)
    {
        // A name of its own per run: a rank process of an earlier run of the same test may still be exiting.
        name = $"{name}{Random.Shared.Next(100_000, 1_000_000)}";
        var spec = WriteSpec(name, workers, epochs, audit);
        if (extra.Length > 0) File.AppendAllText(spec, "\n" + extra + "\n");
        var root = Path.Combine(dir, "ckpt", name);
        string[] args = ["run", spec, "--workers", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"];
        var run = ClusterCli.RunAsync(Timeout, logs is null ? args : [.. args, "--logs", logs]);
        var watch = Stopwatch.StartNew();
        var pids = new int?[ranks];
        while (watch.Elapsed < Timeout && !run.IsCompleted && pids.Any(p => p is null))
        {
            if (CommittedAtLeast(root, after)) for (var l = 0; l < ranks; l++) pids[l] = RankPid(name, l);
            await Task.Delay(5);
        }
        Assert.True(pids.All(p => p is not null), $"the ranks of {name} were not found running after checkpoint {after}");
        return (run, [.. pids.Select(p => p!.Value)], root);
    }

    /// <summary>
    /// `cluster audit --replay`: replays the audit's committed steps in one process and compares with the final model.
    /// Returns the replay's JSON (exit 0 and reproduced asserted).
    /// </summary>
    private async Task<JsonElement> ReplayAsync(string audit, string root, int epochs)
    {
        var (code, stdout, stderr) = await ClusterCli.RunAsync(TimeSpan.FromMinutes(2), "audit", audit, "--samples", "384", "--epochs",
            epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--replay", SpecOf(root), "--json");
        output.WriteLine(stderr.Split('\n').LastOrDefault(l => l.StartsWith("replay:", StringComparison.Ordinal)) ?? stderr);
        Assert.True(code == 0, stderr);
        var replay = Summary(stdout).GetProperty("replay");
        Assert.True(replay.GetProperty("reproduced").GetBoolean());
        Assert.InRange(replay.GetProperty("max_relative_difference").GetDouble(), 0, 1e-6);
        return replay;
    }

    /// <summary>The spec file of the run whose lineage root is <paramref name="root"/>.</summary>
    private string SpecOf(string root) => Path.Combine(dir, Path.GetFileName(root) + ".yaml");

    private static JsonElement Summary(string stdout) => JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;

    [Fact]
    public async Task A_killed_rank_is_replaced_while_the_survivor_trains_on_in_its_process_and_the_replacement_gets_its_state()
    {
        var audit = Path.Combine(dir, "audit");
        var (run, victim, survivor, root) = await StartAsync("replace-2to1to2", "{ minRanks: 1 }", after: 2, extra: "restart: { backoffSeconds: 0.5 }", epochs: 100, audit: audit);
        using (var p = Process.GetProcessById(victim)) p.Kill(); // SIGKILL
        var killedAt = CheckpointLineage.Scan(root, 2).Latest!.Step;

        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(3, summary.GetProperty("generation").GetInt64());
        var recoveries = summary.GetProperty("recoveries").EnumerateArray().ToList();
        Assert.Equal(2, recoveries.Count);
        var (loss, admission) = (recoveries[0], recoveries[1]);
        Assert.Equal((1L, 2L, 1, false), (loss.GetProperty("from_generation").GetInt64(), loss.GetProperty("to_generation").GetInt64(),
            loss.GetProperty("world_size").GetInt32(), loss.GetProperty("admission").GetBoolean()));
        Assert.Contains("rank 1 exited with code 137", loss.GetProperty("reason").GetString());
        var seconds = loss.GetProperty("seconds_to_first_step").GetDouble();
        output.WriteLine($"decision -> first step of generation 2: {seconds:F3} s");
        Assert.InRange(seconds, 0, 10);
        Assert.Equal((2L, 3L, 2, true), (admission.GetProperty("from_generation").GetInt64(), admission.GetProperty("to_generation").GetInt64(),
            admission.GetProperty("world_size").GetInt32(), admission.GetProperty("admission").GetBoolean()));
        Assert.Equal("admitted local/1", admission.GetProperty("reason").GetString());
        // The survivor went on in its own process (no restore from disk), ended generation 2 by the step vote (no abort), and
        // sent its state to the replacement, which had restored an older committed checkpoint.
        Assert.Contains("keeps its state and goes on", stderr);
        Assert.Contains("generation 2: 1 rank(s) go on from step", stderr);
        Assert.Contains("stopped at GenerationEndedException", stderr);
        Assert.Matches(@"generation 3: rank\(s\) 1@\d+ received the state of step \d+ from rank 0: \d+ bytes", stderr);
        Assert.True(summary.GetProperty("steps").GetInt64() > killedAt);
        Assert.Equal(100, summary.GetProperty("epochs").GetInt32());
        var final = CheckpointLineage.Scan(root, 2).Latest!;
        Assert.True(final.Final);
        Assert.Equal((3L, 2), (final.Generation, final.WorldSize));
        Assert.False(Process.GetProcesses().Any(p => p.Id == survivor), "the survivor's process is still alive after the run");
        // Exactly once: every sample of every epoch went into the final state once, across the loss (2 -> 1) and the
        // replacement (1 -> 2); the three processes (survivor, victim, replacement) each wrote their own file.
        Assert.Equal(3, Directory.GetFiles(audit, "*" + Cluster.Training.Audit.SampleAudit.Extension).Length);
        var epochs = Cluster.Training.Audit.SampleAuditCheck.Check(audit, 384, Enumerable.Range(0, 100));
        Assert.All(epochs, e => Assert.True(e is { Trained: 384, Missing: 0, Duplicated: 0 }, e.ToString()));
        output.WriteLine($"audit: {epochs.Sum(e => e.Discarded)} step(s) read and discarded by the recoveries, {epochs.Sum(e => e.Skipped)} skipped");
        // The same from the command line; one epoch more than trained is all missing, and says so.
        var (auditCode, auditOut, _) = await ClusterCli.RunAsync(TimeSpan.FromMinutes(1), "audit", audit, "--samples", "384", "--epochs", "100", "--json");
        Assert.Equal(0, auditCode);
        Assert.True(Summary(auditOut).GetProperty("exactly_once").GetBoolean());
        var (overCode, overOut, _) = await ClusterCli.RunAsync(TimeSpan.FromMinutes(1), "audit", audit, "--samples", "384", "--epochs", "101", "--json");
        Assert.Equal(3, overCode);
        Assert.Equal(384, Summary(overOut).GetProperty("missing").GetInt32());

        // Replaying the committed batches in one process from the initial model gives the final parameters.
        var replay = await ReplayAsync(audit, root, 100);
        Assert.Equal(summary.GetProperty("steps").GetInt64(), replay.GetProperty("steps").GetInt64());
        Assert.True(replay.GetProperty("segments").GetInt32() >= 3, "the replay ran through generations 1, 2 and 3");
        // The replay is not just agreement: an older checkpoint's model is not reproduced, and an audit whose ids are not
        // the data plan's (two ids of one micro-batch swapped: the exactly-once count cannot see it) is refused. Both in
        // this process (the command line's replay ran above), so no second replay pays for a process and a TorchSharp load.
        var older = Directory.GetDirectories(root, "ckpt-*").Order(StringComparer.Ordinal).First(d => d != final.Directory);
        var spec = Cluster.Abstractions.JobSpecLoader.LoadFile(SpecOf(root)).Training;
        var data = Cluster.Training.Engine.JobData.Load(spec);
        using (var replayed = Cluster.Training.Audit.AuditReplay.CreateModel(spec, data))
        using (var reference = Cluster.Training.Audit.AuditReplay.CreateModel(spec, data))
        {
            Cluster.Training.Audit.AuditReplay.Run(spec, data, Cluster.Training.Audit.AuditLog.Load(audit), replayed, CancellationToken.None);
            reference.load(Path.Combine(older, "model.bin"));
            var (max, _, _) = Cluster.Training.Audit.AuditReplay.Compare(replayed, reference);
            output.WriteLine($"replay against the older checkpoint {Path.GetFileName(older)}: {max:E2} relative");
            Assert.True(max > 1e-6, $"the replay matched an older checkpoint ({max:E2})");
        }
        var tampered = Path.Combine(dir, "audit-tampered");
        Directory.CreateDirectory(tampered);
        var files = Directory.GetFiles(audit).Order(StringComparer.Ordinal).ToArray();
        foreach (var f in files) File.Copy(f, Path.Combine(tampered, Path.GetFileName(f)));
        var lines = File.ReadAllLines(Path.Combine(tampered, Path.GetFileName(files[0])));
        var at = Array.FindIndex(lines, l => l.Contains("\"kind\":\"read\"", StringComparison.Ordinal) && l.Contains("\"g\":1,", StringComparison.Ordinal));
        var ids = System.Text.RegularExpressions.Regex.Match(lines[at], @"""ids"":\[(\d+),(\d+)");
        lines[at] = lines[at].Replace(ids.Value, $"\"ids\":[{ids.Groups[2].Value},{ids.Groups[1].Value}", StringComparison.Ordinal);
        File.WriteAllLines(Path.Combine(tampered, Path.GetFileName(files[0])), lines);
        var tamperedLog = Cluster.Training.Audit.AuditLog.Load(tampered);
        Assert.All(Cluster.Training.Audit.SampleAuditCheck.Check(tamperedLog, 384, Enumerable.Range(0, 100)), e => Assert.Equal(0, e.Missing + e.Duplicated));
        using (var model = Cluster.Training.Audit.AuditReplay.CreateModel(spec, data))
        {
            var refused = Assert.Throws<InvalidDataException>(() => Cluster.Training.Audit.AuditReplay.Run(spec, data, tamperedLog, model, CancellationToken.None));
            Assert.Contains("recorded 16 sample id(s) that are not the 16 the data plan gives", refused.Message);
        }
    }

    [Fact]
    public async Task Of_three_ranks_the_killed_middle_one_is_replaced_and_every_sample_is_trained_once()
    {
        var audit = Path.Combine(dir, "audit-3");
        var (run, pids, root) = await StartRanksAsync("replace-3", "{ minRanks: 1 }", after: 2, ranks: 3, extra: "restart: { backoffSeconds: 0.5 }", epochs: 60, audit: audit);
        using (var p = Process.GetProcessById(pids[1])) p.Kill();
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        var recoveries = summary.GetProperty("recoveries").EnumerateArray().ToList();
        Assert.Equal(2, recoveries.Count);
        Assert.Equal((2, false), (recoveries[0].GetProperty("world_size").GetInt32(), recoveries[0].GetProperty("admission").GetBoolean()));
        Assert.Equal((3, true), (recoveries[1].GetProperty("world_size").GetInt32(), recoveries[1].GetProperty("admission").GetBoolean()));
        // Two survivors went on in generation 2 (both verified equal), and the replacement took their state in generation 3.
        Assert.Contains("generation 2: 2 rank(s) go on from step", stderr);
        Assert.Matches(@"generation 3: rank\(s\) 1@\d+ received the state of step \d+ from rank 0", stderr);
        var final = CheckpointLineage.Scan(root, 2).Latest!;
        Assert.Equal((3L, 3), (final.Generation, final.WorldSize));
        var epochs = Cluster.Training.Audit.SampleAuditCheck.Check(audit, 384, Enumerable.Range(0, 60));
        Assert.All(epochs, e => Assert.True(e is { Trained: 384, Missing: 0, Duplicated: 0 }, e.ToString()));
        // At 3 ranks the ring all-reduce's order of sums is not rank order: the replay averages with the same collectives, so bit for bit.
        var replay = await ReplayAsync(audit, root, 60);
        Assert.Equal(replay.GetProperty("tensors").GetInt32(), replay.GetProperty("identical_tensors").GetInt32());
    }

    [Fact]
    public async Task A_waiting_spare_takes_the_place_of_a_killed_rank_at_once_and_the_replacement_waits_as_a_spare()
    {
        // Three processes, a generation of two (workers.maxRanks): local rank 2 waits as a spare from the start.
        var audit = Path.Combine(dir, "audit-spare");
        var logs = Path.Combine(dir, "logs");
        var (run, pids, root) = await StartRanksAsync("spare-3", "{ maxRanks: 2 }", after: 2, ranks: 3, extra: "restart: { backoffSeconds: 0.5 }", epochs: 60, audit: audit, logs: logs);
        using (var p = Process.GetProcessById(pids[1])) p.Kill();
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Contains("local/2: waits as a spare: generation 1 is full (2 ranks, workers.maxRanks)", stderr);
        // The loss is filled from the spare in one regroup: no wait, no admission, world size 2 throughout.
        var loss = Assert.Single(summary.GetProperty("recoveries").EnumerateArray());
        Assert.Equal((1L, 2L, 2, false), (loss.GetProperty("from_generation").GetInt64(), loss.GetProperty("to_generation").GetInt64(),
            loss.GetProperty("world_size").GetInt32(), loss.GetProperty("admission").GetBoolean()));
        Assert.Contains("1 spare(s) took the lost place(s)", loss.GetProperty("reason").GetString());
        output.WriteLine($"decision -> first step of generation 2 with the spare: {loss.GetProperty("seconds_to_first_step").GetDouble():F3} s");
        Assert.Equal(2, summary.GetProperty("generation").GetInt64());
        Assert.Matches(@"generation 2: rank\(s\) 1@\d+ received the state of step \d+ from rank 0", stderr);
        // The killed rank's replacement found the generation full and waited as a spare; the job's end released it.
        Assert.Contains("local/1: waits as a spare: generation 2 is full", stderr);
        // Its own log (the run's output may end before its last line): the end of the job released it and it exited 0.
        var log = File.ReadAllText(Assert.Single(Directory.GetFiles(logs, "local-1.log", SearchOption.AllDirectories)));
        Assert.Contains("local/1: spare released: ", log);
        Assert.EndsWith("[agent] local/1 exited with code 0", log.TrimEnd());
        var final = CheckpointLineage.Scan(root, 2).Latest!;
        Assert.Equal((2L, 2), (final.Generation, final.WorldSize));
        foreach (var pid in pids) Assert.False(Process.GetProcesses().Any(p => p.Id == pid), $"rank process {pid} is still alive");
        var epochs = Cluster.Training.Audit.SampleAuditCheck.Check(audit, 384, Enumerable.Range(0, 60));
        Assert.All(epochs, e => Assert.True(e is { Trained: 384, Missing: 0, Duplicated: 0 }, e.ToString()));
        await ReplayAsync(audit, root, 60);
    }

    [Fact]
    public async Task Killing_every_rank_at_once_restarts_them_from_the_newest_committed_checkpoint_and_the_status_says_so()
    {
        var audit = Path.Combine(dir, "audit-all");
        var (run, pids, root) = await StartRanksAsync("all-lost", "{ minRanks: 1 }", after: 3, ranks: 2, audit: audit);
        // The newest committed id before the kill (read from the directory names: a scan may meet a checkpoint being pruned).
        var committed = Directory.GetDirectories(root, "ckpt-*").Where(d => File.Exists(Path.Combine(d, CheckpointFiles.ManifestFileName)))
            .Select(d => long.Parse(Path.GetFileName(d)["ckpt-".Length..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        foreach (var pid in pids)
        {
            using var p = Process.GetProcessById(pid);
            p.Kill(); // SIGKILL, both within a millisecond
        }
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(40, summary.GetProperty("epochs").GetInt32());
        var recoveries = summary.GetProperty("recoveries").EnumerateArray().ToList();
        var restart = Assert.Single(recoveries, r => r.GetProperty("restart").GetBoolean());
        var reason = restart.GetProperty("reason").GetString()!;
        Assert.Contains("no rank left: the job restarts from its newest committed checkpoint: checkpoint ", reason);
        var id = long.Parse(System.Text.RegularExpressions.Regex.Match(reason, @"checkpoint (\d+) \(step").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(id >= committed && committed >= 3, $"restarted from checkpoint {id}; {committed} was committed before the kill");
        Assert.Equal(2, restart.GetProperty("world_size").GetInt32());
        Assert.True(restart.GetProperty("seconds_to_first_step").GetDouble() is > 0 and < 60);
        Assert.Contains($"resumed from checkpoint {id} ", stderr); // the new processes restored it from disk
        var final = CheckpointLineage.Scan(root, 2).Latest!;
        Assert.True(final.Final);
        Assert.Equal((summary.GetProperty("generation").GetInt64(), 2), (final.Generation, final.WorldSize));
        foreach (var pid in pids) Assert.False(Process.GetProcesses().Any(p => p.Id == pid), $"rank process {pid} is still alive");
        // The steps after the checkpoint were trained twice, once into the lost state: the audit must count them once.
        var epochs = Cluster.Training.Audit.SampleAuditCheck.Check(audit, 384, Enumerable.Range(0, 40));
        Assert.All(epochs, e => Assert.True(e is { Trained: 384, Missing: 0, Duplicated: 0 }, e.ToString()));
        output.WriteLine($"audit: {epochs.Sum(e => e.Discarded)} step(s) read and discarded by the restart");
        await ReplayAsync(audit, root, 40); // the checkpoint's steps from generation 1, the rest from the restarted generation
    }

    [Fact]
    public async Task A_hung_rank_is_dropped_when_its_lease_lapses_and_the_survivor_completes()
    {
        var (run, victim, _, _) = await StartAsync("hung-2to1", "{ minRanks: 1 }", after: 2);
        using (var stop = Process.Start("kill", ["-STOP", victim.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await stop.WaitForExitAsync();
            Assert.Equal(0, stop.ExitCode); // SIGSTOP: alive, silent, holding its sockets open
        }
        var stoppedAt = DateTimeOffset.UtcNow;
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        // The lapse, then (when the replacement starts before the job ends) its admission.
        var recoveries = summary.GetProperty("recoveries").EnumerateArray().ToList();
        var recovery = recoveries[0];
        Assert.Contains("rank 1 lease lapsed", recovery.GetProperty("reason").GetString());
        Assert.All(recoveries.Skip(1), r => Assert.True(r.GetProperty("admission").GetBoolean(), r.GetProperty("reason").GetString()));
        var detected = recovery.GetProperty("decided_at").GetDateTimeOffset();
        var detection = (detected - stoppedAt).TotalSeconds;
        output.WriteLine($"SIGSTOP -> lease lapse decision: {detection:F2} s");
        Assert.InRange(detection, 3, 15); // the agent's 3 s silence cutoff, the 5 s lease, a beat and a tick; not the 30 s first-beat grace
        // Its agent killed it once it had no rank in generation 2 (a stopped process dies of SIGKILL).
        Assert.False(Process.GetProcesses().Any(p => p.Id == victim), "the hung rank is still alive after the run");
    }

    [Fact]
    public async Task Without_minRanks_a_hung_rank_is_killed_by_its_agent_and_replaced_while_the_survivor_waits()
    {
        var (run, victim, _, root) = await StartAsync("hung-hold", "{ min: 1, max: 1, nprocPerNode: 2 }", after: 2,
            extra: "restart: { backoffSeconds: 0.5, waitSeconds: 60 }", epochs: 40);
        using (var stop = Process.Start("kill", ["-STOP", victim.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await stop.WaitForExitAsync();
            Assert.Equal(0, stop.ExitCode);
        }
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        var recovery = Assert.Single(summary.GetProperty("recoveries").EnumerateArray());
        Assert.Contains("rank 1 lease lapsed", recovery.GetProperty("reason").GetString());
        Assert.Contains("waiting up to 60 s for replacements", recovery.GetProperty("reason").GetString());
        Assert.Equal(2, recovery.GetProperty("world_size").GetInt32());
        Assert.Equal((2L, 2), (CheckpointLineage.Scan(root, 2).Latest!.Generation, CheckpointLineage.Scan(root, 2).Latest!.WorldSize));
        Assert.False(Process.GetProcesses().Any(p => p.Id == victim), "the hung rank is still alive after the run");
    }

    [Fact]
    public async Task Two_kills_in_a_row_leave_the_last_of_three_ranks_training_to_completion()
    {
        var (run, pids, _) = await StartRanksAsync("twice-3to1", "{ minRanks: 1 }", after: 2, ranks: 3, extra: "restart: { backoffSeconds: 60 }", epochs: 20);
        using (var p = Process.GetProcessById(pids[1])) p.Kill();
        await Task.Delay(100); // the second dies while the coordinator and the survivors regroup
        using (var p = Process.GetProcessById(pids[2])) p.Kill();
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        // One regroup per loss, or one for both when they are seen together; the replacements are admitted after (they
        // start 60 s later here: the losses are what this test is about).
        var recoveries = summary.GetProperty("recoveries").EnumerateArray().ToList();
        Assert.InRange(recoveries.Count, 1, 2);
        Assert.All(recoveries, r => Assert.False(r.GetProperty("admission").GetBoolean()));
        Assert.Equal(1, recoveries[^1].GetProperty("world_size").GetInt32());
        var reasons = string.Join(" | ", recoveries.Select(r => r.GetProperty("reason").GetString()));
        Assert.Contains("exited with code 137", reasons);
        Assert.Equal(20, summary.GetProperty("epochs").GetInt32());
    }

    [Fact]
    public async Task A_spent_restart_budget_fails_the_run_listing_every_failure_and_leaves_no_rank_running()
    {
        // 400 epochs (3,200 steps): the job must still run at the second kill, also on a busy machine.
        var (run, pids, _) = await StartRanksAsync("budget-3", "{ minRanks: 1 }", after: 2, ranks: 3, extra: "restart: { maxRestarts: 1, backoffSeconds: 60 }", epochs: 400);
        using (var p = Process.GetProcessById(pids[1])) p.Kill();
        await Task.Delay(1500); // the first loss is recovered from (the one restart of the budget)
        using (var p = Process.GetProcessById(pids[2])) p.Kill();
        var (code, stdout, stderr) = await run;
        Assert.True(code == 1, stderr);
        var summary = Summary(stdout);
        Assert.Equal("failed", summary.GetProperty("status").GetString());
        var error = summary.GetProperty("error").GetString()!;
        Assert.Contains("the restart budget of 1 is spent", error);
        Assert.Contains("failures: 1) rank 1 exited with code 137", error);
        Assert.Contains("2) rank 1 exited with code 137", error); // local rank 2 was rank 1 of generation 2
        Assert.Single(summary.GetProperty("recoveries").EnumerateArray());
        foreach (var pid in pids) Assert.False(Process.GetProcesses().Any(p => p.Id == pid), $"rank process {pid} is still alive after the failed run");
    }

    [Fact]
    public async Task Without_minRanks_the_survivor_waits_for_the_replacement_with_its_state_and_every_sample_is_trained_once()
    {
        var audit = Path.Combine(dir, "audit-hold");
        var (run, victim, survivor, root) = await StartAsync("hold", "{ min: 1, max: 1, nprocPerNode: 2 }", after: 2,
            extra: "restart: { backoffSeconds: 0.5, waitSeconds: 60 }", epochs: 30, audit: audit);
        using (var p = Process.GetProcessById(victim)) p.Kill();
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(2, summary.GetProperty("generation").GetInt64());
        // One recovery: generation 1 lost rank 1, the survivor waited (no generation of 1 rank ran), and the replacement
        // formed generation 2 with it, taking the survivor's state.
        var recovery = Assert.Single(summary.GetProperty("recoveries").EnumerateArray());
        Assert.Equal((1L, 2L, 2, false), (recovery.GetProperty("from_generation").GetInt64(), recovery.GetProperty("to_generation").GetInt64(),
            recovery.GetProperty("world_size").GetInt32(), recovery.GetProperty("admission").GetBoolean()));
        Assert.Contains("1 rank(s) left, fewer than workers.minRanks 2: waiting up to 60 s for replacements", recovery.GetProperty("reason").GetString());
        var seconds = recovery.GetProperty("seconds_to_first_step").GetDouble();
        output.WriteLine($"decision -> first step of generation 2 (with the replacement): {seconds:F3} s");
        Assert.InRange(seconds, 0.5, 30); // at least the backoff: the survivor did not train alone
        Assert.Contains("keeps its state and goes on", stderr);
        Assert.Matches(@"generation 2: rank\(s\) 1@\d+ received the state of step \d+ from rank 0", stderr);
        var final = CheckpointLineage.Scan(root, 2).Latest!;
        Assert.Equal((2L, 2), (final.Generation, final.WorldSize));
        Assert.False(Process.GetProcesses().Any(p => p.Id == survivor), "the survivor's process is still alive after the run");
        var epochs = Cluster.Training.Audit.SampleAuditCheck.Check(audit, 384, Enumerable.Range(0, 30));
        Assert.All(epochs, e => Assert.True(e is { Trained: 384, Missing: 0, Duplicated: 0 }, e.ToString()));
    }

    [Fact]
    public async Task Without_minRanks_and_no_replacement_within_the_wait_the_run_fails_naming_the_minimum_and_every_failure()
    {
        var (run, victim, survivor, _) = await StartAsync("hold-expires", "{ min: 1, max: 1, nprocPerNode: 2 }", after: 1,
            extra: "restart: { backoffSeconds: 60, waitSeconds: 2 }");
        using (var p = Process.GetProcessById(victim)) p.Kill();
        var (code, stdout, stderr) = await run;
        Assert.True(code == 1, stderr);
        var summary = Summary(stdout);
        Assert.Equal("failed", summary.GetProperty("status").GetString());
        var error = summary.GetProperty("error").GetString()!;
        Assert.Contains("1 rank(s) waited 2 s (restart.waitSeconds) and the job did not regain workers.minRanks 2", error);
        Assert.Contains("failures: 1) rank 1 exited with code 137", error);
        Assert.False(Process.GetProcesses().Any(p => p.Id == survivor), "the waiting survivor is still alive after the failed run");
    }
}
