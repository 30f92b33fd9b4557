using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Cluster.Abstractions;
using Cluster.Agent.Client;
using Cluster.Cli.Commands.Run;
using Cluster.Coordinator.Contracts;
using StackExchange.Redis;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// `cluster bench control-plane`: the production job grain in a silo process of its own (Redis or memory storage) and
/// simulated nodes, each the real node-agent client code (<c>NodeVoice</c>) speaking for nproc in-memory ranks. Reports
/// rendezvous time, steady-state calls/s and calls per node per beat, beat latency and silo CPU at the beat rate, bytes sent
/// to Redis per rendezvous and per checkpoint, a checkpoint round (open → commit), a recovery (one rank lost: the time the
/// regroup takes to reach every survivor and for the next generation to form) and the time a directive (cancel) takes
/// to reach every rank.
/// </summary>
internal sealed class BenchControlPlaneCommand : BaseCommand
{
    private readonly Option<int> _nodes = new("--nodes") { Description = "simulated nodes", Required = true };
    private readonly Option<int> _nproc = new("--nproc-per-node") { Description = "ranks per node", DefaultValueFactory = _ => 8 };
    private readonly Option<string> _storage = new("--storage") { Description = "redis (a real redis-server) or memory", DefaultValueFactory = _ => "redis" };
    private readonly Option<int> _clients = new("--clients") { Description = "Orleans client connections the members share", DefaultValueFactory = _ => 4 };
    private readonly Option<int> _beatMs = new("--beat-ms") { Description = "beat interval per node (the agent's default: 1000)", DefaultValueFactory = _ => 1000 };
    private readonly Option<double> _steadySeconds = new("--steady-s") { Description = "length of the steady-state phase", DefaultValueFactory = _ => 10 };
    private readonly Option<double> _warmupSeconds = new("--warmup-s") { Description = "unmeasured beats before the steady-state phase (JIT tiering of the silo settles)", DefaultValueFactory = _ => 10 };
    private readonly Option<double> _timeoutSeconds = new("--timeout-s") { Description = "deadline of the rendezvous and of the checkpoint round", DefaultValueFactory = _ => 180 };
    private readonly Option<bool> _json = new("--json") { Description = "a JSON summary as the last stdout line; human text on stderr" };

    public BenchControlPlaneCommand() : base("control-plane", "load the coordinator with simulated nodes x ranks (rendezvous, beats, checkpoint, directive)")
    {
        foreach (var o in new Option[] { _nodes, _nproc, _storage, _clients, _beatMs, _steadySeconds, _warmupSeconds, _timeoutSeconds, _json }) Options.Add(o);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var nodes = parseResult.GetValue(_nodes);
        var nproc = parseResult.GetValue(_nproc);
        var storage = parseResult.GetValue(_storage)!;
        var clients = parseResult.GetValue(_clients);
        var beat = TimeSpan.FromMilliseconds(parseResult.GetValue(_beatMs));
        var steady = TimeSpan.FromSeconds(parseResult.GetValue(_steadySeconds));
        var warmup = TimeSpan.FromSeconds(parseResult.GetValue(_warmupSeconds));
        var timeout = TimeSpan.FromSeconds(parseResult.GetValue(_timeoutSeconds));
        var json = parseResult.GetValue(_json);
        if (nodes < 1 || nproc < 1 || (long)nodes * nproc > 65535) throw new UsageException($"--nodes x --nproc-per-node must be 1..65535 ranks (got {nodes} x {nproc})");
        if (storage is not ("redis" or "memory")) throw new UsageException($"--storage must be redis or memory (got '{storage}')");
        if (clients < 1 || beat <= TimeSpan.Zero || steady <= TimeSpan.Zero || timeout <= TimeSpan.Zero || warmup < TimeSpan.Zero)
            throw new UsageException("--clients, --beat-ms, --steady-s and --timeout-s must be positive, --warmup-s not negative");
        var human = json ? Console.Error : Console.Out;

        var result = new ControlPlaneResult { Nodes = nodes, NprocPerNode = nproc, Storage = storage, Clients = clients, BeatMs = beat.TotalMilliseconds };
        var dir = Directory.CreateTempSubdirectory("cluster-bench-cp-").FullName;
        var ports = FreePorts.Pick(3);
        var clusterId = $"bench-cp-{Guid.NewGuid():N}";
        await using var processes = new ControlPlaneProcesses();
        var connections = new List<CoordinatorClient>();
        ConnectionMultiplexer? redis = null;
        try
        {
            List<string> siloArgs = ["--silo-port", Str(ports[0]), "--gateway-port", Str(ports[1]), "--cluster-id", clusterId];
            if (storage == "redis")
            {
                await processes.StartRedisAsync(ports[2], cancellationToken).ConfigureAwait(false);
                siloArgs.AddRange(["--redis", $"127.0.0.1:{ports[2]}"]);
                redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{ports[2]}").ConfigureAwait(false);
            }
            await processes.StartSiloAsync(siloArgs, cancellationToken).ConfigureAwait(false);
            for (var c = 0; c < clients; c++)
                connections.Add(await CoordinatorClient.ConnectStaticAsync([$"127.0.0.1:{ports[1]}"], clusterId, "cluster", TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false));
            var grains = connections.Select(c => new TimedJobGrain(c.Grains.GetGrain<IJobGrain>("cp-bench"))).ToArray();
            var spec = JobSpecLoader.Parse($$"""
                name: cp-bench
                training:
                  model: { type: mlp }
                  dataset: { type: synthetic }
                workers: { minRanks: 1 }
                checkpoint: { dir: {{dir}}, keepLast: 2 }
                """);
            var submitted = await grains[0].Submit(JobSubmission.Summarize(spec, "cp-bench", nodes, nodes, nproc, fresh: true)).ConfigureAwait(false);
            var members = new ControlPlaneMembers(grains, "cp-bench", submitted.JobSecretBase64, nodes, nproc, beat);
            await human.WriteLineAsync($"# bench control-plane: {nodes} x {nproc} ranks, {storage} storage, silo pid {processes.Silo!.Id}").ConfigureAwait(false);

            using var stopVoices = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                var (bytes, cpu) = (await RedisInputBytesAsync(redis).ConfigureAwait(false), processes.SiloCpuSeconds());
                var joined = await members.JoinAllAsync(timeout, stopVoices.Token).ConfigureAwait(false);
                result = result with
                {
                    RendezvousSeconds = joined.Seconds, LastJoinSeconds = Finite(joined.Phases[0]), LastAssignmentSeconds = Finite(joined.Phases[1]),
                    LastPeerTableSeconds = Finite(joined.Phases[2]), FailedJoins = joined.Failed, FirstJoinError = joined.FirstError, PeerTableBytes = members.PeerBytesHandedOut,
                    RedisBytesPerRendezvous = await RedisInputBytesAsync(redis).ConfigureAwait(false) - bytes, SiloCpuRendezvous = processes.SiloCpuSeconds() - cpu,
                };
                if (joined.Failed > 0) throw new InvalidOperationException($"{joined.Failed} of {members.Count} ranks did not get an assignment");

                // Warm-up (JIT tiering, first activations of the call path), not measured: --warmup-s, at least two beats.
                await Task.Delay(TimeSpan.FromTicks(Math.Max(warmup.Ticks, 2 * beat.Ticks)), cancellationToken).ConfigureAwait(false);
                (bytes, cpu) = (await RedisInputBytesAsync(redis).ConfigureAwait(false), processes.SiloCpuSeconds());
                var calls = grains.Sum(g => g.Calls);
                foreach (var g in grains) g.Recording = true;
                var started = TimeProvider.System.GetTimestamp();
                await Task.Delay(steady, cancellationToken).ConfigureAwait(false);
                var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
                foreach (var g in grains) g.Recording = false;
                calls = grains.Sum(g => g.Calls) - calls;
                var latencies = grains.SelectMany(g => g.BeatLatenciesMs).Order().ToList();
                result = result with
                {
                    CallsPerSecond = calls / seconds, CallsPerNodePerBeat = calls / seconds * beat.TotalSeconds / nodes,
                    P50Ms = Finite(Percentile(latencies, 0.5)), P99Ms = Finite(Percentile(latencies, 0.99)),
                    SiloCpuPercent = 100 * (processes.SiloCpuSeconds() - cpu) / seconds,
                    RedisBytesPerSecond = (await RedisInputBytesAsync(redis).ConfigureAwait(false) - bytes) / seconds,
                };

                bytes = await RedisInputBytesAsync(redis).ConfigureAwait(false);
                var round = await members.CheckpointRoundAsync(grains[0], timeout, cancellationToken).ConfigureAwait(false);
                result = result with { CheckpointRoundSeconds = round.Seconds, RedisBytesPerCheckpoint = await RedisInputBytesAsync(redis).ConfigureAwait(false) - bytes };

                var recovery = await members.RecoveryAsync(timeout, cancellationToken).ConfigureAwait(false);
                var regroup = recovery.RegroupMs.Where(d => !double.IsNaN(d)).Order().ToList();
                result = result with
                {
                    RegroupP50Ms = Finite(Percentile(regroup, 0.5)), RegroupP99Ms = Finite(Percentile(regroup, 0.99)),
                    RecoveryFormedSeconds = Finite(recovery.FormedSeconds), RecoveryMissed = recovery.Missed,
                };

                // The new generation's first beats and held calls arrive together: the cancel is timed after they settle.
                await Task.Delay(TimeSpan.FromTicks(3 * beat.Ticks), cancellationToken).ConfigureAwait(false);
                var cancelAt = TimeProvider.System.GetTimestamp();
                await grains[0].Cancel("bench control-plane: directive latency").ConfigureAwait(false);
                var times = await members.DirectiveTimesAsync(cancelAt, timeout).ConfigureAwait(false); // the live ranks
                var reached = times.Where(d => !double.IsNaN(d)).Order().ToList();
                result = result with
                {
                    DirectiveP50Ms = Finite(Percentile(reached, 0.5)), DirectiveP99Ms = Finite(Percentile(reached, 0.99)), DirectiveMissed = times.Length - reached.Count,
                };
            }
            finally
            {
                await stopVoices.CancelAsync().ConfigureAwait(false);
                await members.StopAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or Orleans.Runtime.OrleansException or RedisException)
        {
            result = result with { Error = e.Message };
        }
        finally
        {
            foreach (var c in connections) await c.DisposeAsync().ConfigureAwait(false);
            redis?.Dispose();
            Directory.Delete(dir, recursive: true);
        }
        await human.WriteLineAsync(result.Describe()).ConfigureAwait(false);
        if (json) await Console.Out.WriteLineAsync(JsonSerializer.Serialize(result)).ConfigureAwait(false);
        return result.Error is null ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static double Percentile(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];

    /// <summary>Redis's INFO total_net_input_bytes: everything the silo (and this process) sent it; null without Redis.</summary>
    private static async Task<long?> RedisInputBytesAsync(ConnectionMultiplexer? redis)
    {
        if (redis is null) return null;
        var info = (string?)await redis.GetDatabase().ExecuteAsync("INFO", "stats").ConfigureAwait(false) ?? "";
        var line = info.Split('\n').FirstOrDefault(l => l.StartsWith("total_net_input_bytes:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("redis INFO stats has no total_net_input_bytes");
        return long.Parse(line["total_net_input_bytes:".Length..].Trim(), CultureInfo.InvariantCulture);
    }
}
