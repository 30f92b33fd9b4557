using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cluster.Agent.Client;
using Cluster.Cli.Commands.Cluster;
using Cluster.Coordinator.Contracts;
using StackExchange.Redis;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// `cluster bench membership`: real `cluster agent` processes (silo + node agent each) on 127.0.0.1 with a throwaway
/// redis-server. Detection: kill -9 of one agent, timed until the others' membership table says Dead, alternating Orleans'
/// defaults and the tuning (<c>--membership orleans|tuned</c>). Soak (<c>--soak-s</c>): no kill, a training job on every
/// agent keeps both cores busy, and every suspicion and death in the table is counted: a tuning that is too tight shows
/// here as false deaths.
/// </summary>
internal sealed class BenchMembershipCommand : BaseCommand
{
    private readonly Option<int> _runs = new("--runs") { Description = "kills per tuning (alternating)", DefaultValueFactory = _ => 3 };
    private readonly Option<int> _silos = new("--silos") { Description = "agents per run", DefaultValueFactory = _ => 3 };
    private readonly Option<double> _soak = new("--soak-s") { Description = "instead of kills: seconds of training with the tuning, counting suspicions and deaths", DefaultValueFactory = _ => 0 };
    private readonly Option<bool> _json = new("--json") { Description = "a JSON summary as the last stdout line; human text on stderr" };

    public BenchMembershipCommand() : base("membership", "silo failure detection: kill -9 detection time (Orleans' defaults vs the tuning), or a soak with no false deaths")
    {
        foreach (var o in new Option[] { _runs, _silos, _soak, _json }) Options.Add(o);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var runs = parseResult.GetValue(_runs);
        var silos = parseResult.GetValue(_silos);
        var soak = parseResult.GetValue(_soak);
        if (runs < 1 || silos < 2 || soak < 0) throw new UsageException("--runs must be >= 1, --silos >= 2, --soak-s >= 0");
        var human = parseResult.GetValue(_json) ? Console.Error : Console.Out;
        var dir = Directory.CreateTempSubdirectory("cluster-bench-m-").FullName;
        try
        {
            await using var redis = new ControlPlaneProcesses();
            var port = Run.FreePorts.Pick(1)[0];
            await redis.StartRedisAsync(port, cancellationToken).ConfigureAwait(false);
            var endpoint = $"127.0.0.1:{port}";
            object summary = soak > 0
                ? await SoakAsync(endpoint, silos, TimeSpan.FromSeconds(soak), dir, human, cancellationToken).ConfigureAwait(false)
                : await DetectAsync(endpoint, silos, runs, dir, human, cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(_json)) await Console.Out.WriteLineAsync(JsonSerializer.Serialize(summary)).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* best effort */ }
        }
    }

    private static async Task<object> DetectAsync(string redis, int silos, int runs, string dir, TextWriter human, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis).ConfigureAwait(false);
        var seconds = new Dictionary<string, List<double>> { ["orleans"] = [], ["tuned"] = [] };
        for (var run = 0; run < runs; run++)
        {
            foreach (var tuning in run % 2 == 0 ? new[] { "orleans", "tuned" } : ["tuned", "orleans"])
            {
                await using var agents = new MembershipAgents();
                await agents.StartAsync(silos, redis, tuning, Path.Combine(dir, "logs"), cancellationToken).ConfigureAwait(false);
                var table = new MembershipTable(connection.GetDatabase(), ClusterDefaults.ClusterId, agents.ClusterId);
                await UntilAsync(async () => (await table.ReadAsync().ConfigureAwait(false)).Count(r => r.Status == SiloStatus.Active) == silos, TimeSpan.FromSeconds(60),
                    $"{silos} active silos", cancellationToken).ConfigureAwait(false);
                var victim = $":{agents.SiloPorts[^1]}:";
                var clock = Stopwatch.StartNew();
                agents.Kill(silos - 1);
                await UntilAsync(async () => (await table.ReadAsync().ConfigureAwait(false)).Any(r => r.Silo.Contains(victim, StringComparison.Ordinal) && r.Status == SiloStatus.Dead),
                    TimeSpan.FromSeconds(120), $"the killed silo ({victim}) declared dead", cancellationToken).ConfigureAwait(false);
                seconds[tuning].Add(clock.Elapsed.TotalSeconds);
                await human.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"run {run + 1} {tuning,-7}: kill -9 -> declared dead in {clock.Elapsed.TotalSeconds:F2} s")).ConfigureAwait(false);
            }
        }
        foreach (var (tuning, values) in seconds)
        {
            var sorted = values.Order().ToList();
            await human.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{tuning,-7}: median {sorted[sorted.Count / 2]:F2} s, range {sorted[0]:F2}–{sorted[^1]:F2} s over {sorted.Count} kills ({silos} silos; limit: about a second; peer: Orleans' defaults)")).ConfigureAwait(false);
        }
        return new { kind = "membership-detection", silos, seconds };
    }

    private static async Task<object> SoakAsync(string redis, int silos, TimeSpan soak, string dir, TextWriter human, CancellationToken cancellationToken)
    {
        await using var agents = new MembershipAgents();
        await agents.StartAsync(silos, redis, "tuned", Path.Combine(dir, "logs"), cancellationToken).ConfigureAwait(false);
        await using var client = await CoordinatorClient.ConnectRedisAsync(redis, agents.ClusterId, ClusterDefaults.ClusterId, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis).ConfigureAwait(false);
        var table = new MembershipTable(connection.GetDatabase(), ClusterDefaults.ClusterId, agents.ClusterId);
        var spec = Path.Combine(dir, "soak.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: membership-soak
            workers: { min: {{silos}}, max: {{silos}}, nprocPerNode: 1 }
            training:
              model: { type: mlp }
              dataset: { type: synthetic, samples: 60000, testSamples: 100, classes: 10, shape: [1, 28, 28] }
              epochs: 100000
              batchSize: 64
              optimizer: { type: sgd, lr: 0.01 }
            checkpoint: { dir: {{Path.Combine(dir, "ckpt")}}, intervalSteps: 500, keepLast: 2 }
            """, cancellationToken).ConfigureAwait(false);
        var submit = SelfCommand.With("submit", spec, "--redis", redis, "--cluster-id", agents.ClusterId);
        var info = new ProcessStartInfo(submit[0]) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in submit.Skip(1)) info.ArgumentList.Add(a);
        using var submitted = Process.Start(info)!;
        var jobId = (await submitted.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false)).Trim().Split('\n')[^1].Trim();
        await submitted.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (submitted.ExitCode != 0) throw new InvalidOperationException($"submit exited {submitted.ExitCode}");
        var job = client.Grains.GetGrain<IJobGrain>(jobId);
        await UntilAsync(async () => (await job.GetStatus().ConfigureAwait(false)).State == JobState.Running, TimeSpan.FromSeconds(120), "the soak job trains", cancellationToken).ConfigureAwait(false);
        var cpu = CpuSample.Now();
        var clock = Stopwatch.StartNew();
        var suspicions = 0;
        var notActive = new HashSet<string>(StringComparer.Ordinal);
        long firstStep = (await job.GetStatus().ConfigureAwait(false)).Step;
        while (clock.Elapsed < soak)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            var rows = await table.ReadAsync().ConfigureAwait(false);
            suspicions = Math.Max(suspicions, rows.Sum(r => r.Suspicions));
            foreach (var r in rows.Where(r => r.Status != SiloStatus.Active)) notActive.Add($"{r.Silo} {r.Status}");
        }
        var busy = CpuSample.Now().BusySince(cpu);
        var status = await job.GetStatus().ConfigureAwait(false);
        await job.Cancel("membership soak over").ConfigureAwait(false);
        await human.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"soak {soak.TotalSeconds:F0} s, {silos} agents (tuned membership), job {status.State} at generation {status.Generation}, {status.Step - firstStep} steps, machine CPU busy {busy:P0}: {suspicions} suspicion(s), {notActive.Count} silo(s) not active{(notActive.Count > 0 ? ": " + string.Join(", ", notActive) : "")} (limit: 0)")).ConfigureAwait(false);
        return new { kind = "membership-soak", silos, seconds = soak.TotalSeconds, suspicions, not_active = notActive.ToList(), generation = status.Generation, steps = status.Step - firstStep, cpu_busy = busy };
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan deadline, string what, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { if (await condition().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false)) return; }
            catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException) { /* a silo is gone: ask again */ }
            if (clock.Elapsed > deadline) throw new TimeoutException($"waited {deadline.TotalSeconds:0} s for {what}");
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
        }
    }
}
