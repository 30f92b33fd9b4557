using System.Diagnostics;
using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Training.Tests;

/// <summary>
/// Elastic recovery on the embedded default (`cluster run`): a rank killed with SIGKILL mid-epoch; the survivor keeps its
/// process and state, goes on in generation 2 and the job completes.
/// </summary>
public sealed class ClusterRunRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string dir = Directory.CreateTempSubdirectory("t1-recover-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string WriteSpec(string name, string workers)
    {
        var path = Path.Combine(dir, $"{name}.yaml");
        File.WriteAllText(path, $$"""
            name: {{name}}
            workers: {{workers}}
            training:
              model: { type: mlp, dropout: 0 }
              dataset: { type: synthetic, samples: 384, testSamples: 128, classes: 4, shape: [1, 8, 8], noise: 0.6 }
              epochs: 40
              batchSize: 16
              optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
              seed: 5
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
    private async Task<(Task<(int ExitCode, string Stdout, string Stderr)> Run, int Victim, int Survivor, string Root)> StartAsync(string name, string workers, long after)
    {
        var spec = WriteSpec(name, workers);
        var root = Path.Combine(dir, "ckpt", name);
        var run = ClusterCli.RunAsync(Timeout, "run", spec, "--workers", "2", "--json");
        var watch = Stopwatch.StartNew();
        int? victim = null, survivor = null;
        while (watch.Elapsed < Timeout && !run.IsCompleted && (victim is null || survivor is null))
        {
            if (CommittedAtLeast(root, after)) (victim, survivor) = (RankPid(name, 1), RankPid(name, 0));
            await Task.Delay(5);
        }
        Assert.True(victim is not null && survivor is not null, $"the ranks of {name} were not found running after checkpoint {after}");
        return (run, victim!.Value, survivor!.Value, root);
    }

    private static JsonElement Summary(string stdout) => JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;

    [Fact]
    public async Task A_rank_killed_mid_epoch_leaves_the_survivor_training_in_its_process_in_generation_2_to_completion()
    {
        var (run, victim, survivor, root) = await StartAsync("shrink-2to1", "{ minRanks: 1 }", after: 2);
        using (var p = Process.GetProcessById(victim)) p.Kill(); // SIGKILL
        var killedAt = CheckpointLineage.Scan(root, 2).Latest!.Step;

        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);
        Assert.True(code == 0, stderr);
        var summary = Summary(stdout);
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        Assert.Equal(2, summary.GetProperty("generation").GetInt64());
        var recovery = Assert.Single(summary.GetProperty("recoveries").EnumerateArray().ToList());
        Assert.Equal(1, recovery.GetProperty("from_generation").GetInt64());
        Assert.Equal(1, recovery.GetProperty("world_size").GetInt32());
        Assert.Contains("rank 1 exited with code 137", recovery.GetProperty("reason").GetString());
        var seconds = recovery.GetProperty("seconds_to_first_step").GetDouble();
        output.WriteLine($"decision -> first step of generation 2: {seconds:F3} s");
        Assert.InRange(seconds, 0, 10);
        // The survivor went on in its own process (no restore from disk) and finished every epoch.
        Assert.Contains("keeps its state and goes on", stderr);
        Assert.Contains("generation 2: 1 rank(s) go on from step", stderr);
        Assert.DoesNotContain("resumed from", stderr);
        Assert.True(summary.GetProperty("steps").GetInt64() > killedAt);
        Assert.Equal(40, summary.GetProperty("epochs").GetInt32());
        var final = CheckpointLineage.Scan(root, 2).Latest!;
        Assert.True(final.Final);
        Assert.Equal((2L, 1), (final.Generation, final.WorldSize));
        Assert.False(Process.GetProcesses().Any(p => p.Id == survivor), "the survivor's process is still alive after the run");
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
        var recovery = Assert.Single(summary.GetProperty("recoveries").EnumerateArray().ToList());
        Assert.Contains("rank 1 lease lapsed", recovery.GetProperty("reason").GetString());
        var detected = recovery.GetProperty("decided_at").GetDateTimeOffset();
        var detection = (detected - stoppedAt).TotalSeconds;
        output.WriteLine($"SIGSTOP -> lease lapse decision: {detection:F2} s");
        Assert.InRange(detection, 3, 12); // the 5 s lease (less the time since the last beat) and a tick
        // Its agent killed it once it had no rank in generation 2 (a stopped process dies of SIGKILL).
        Assert.False(Process.GetProcesses().Any(p => p.Id == victim), "the hung rank is still alive after the run");
    }

    [Fact]
    public async Task Without_minRanks_a_lost_rank_still_fails_the_run_naming_it()
    {
        var (run, victim, _, _) = await StartAsync("noshrink", "{ min: 1, max: 1, nprocPerNode: 2 }", after: 1);
        using (var p = Process.GetProcessById(victim)) p.Kill();
        var (code, stdout, _) = await run;
        Assert.Equal(1, code);
        var summary = Summary(stdout);
        Assert.Equal("failed", summary.GetProperty("status").GetString());
        Assert.Contains("fewer than workers.minRanks 2", summary.GetProperty("error").GetString());
        Assert.Equal(1, summary.GetProperty("failed_rank").GetInt32());
    }
}
