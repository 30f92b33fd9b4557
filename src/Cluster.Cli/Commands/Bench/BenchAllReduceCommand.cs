using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Cluster.Cli.Hosting;

namespace Cluster.Cli.Commands.Bench;

/// <summary>`cluster bench allreduce`: starts N rank processes on this machine, times in-place all-reduce per
/// message size, checks every result against a reference, and prints median ms, algbw and busbw
/// (bytes × 2(n−1)/n ÷ time, the nccl-tests convention) next to this machine's single-thread memcpy bandwidth.</summary>
internal sealed class BenchAllReduceCommand : BaseCommand
{
    private readonly BenchOptions _options = new();
    private readonly Option<bool> _json = new("--json") { Description = "one JSON object per line on stdout; human text on stderr" };

    public BenchAllReduceCommand() : base("allreduce", "benchmark all-reduce across N local rank processes")
    {
        _options.AddTo(this);
        Options.Add(_json);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var settings = _options.Read(parseResult);
        var json = parseResult.GetValue(_json);
        var human = json ? Console.Error : Console.Out;

        var memcpy = MemcpyProbe.MeasureGbps();
        await human.WriteLineAsync($"# all-reduce ({settings.Op.ToString().ToLowerInvariant()}, {BenchDTypes.Name(settings.DType)}), {settings.Ranks} ranks, transport {settings.Transport}{(settings.Compress ? ", bf16 on the wire" : "")}; single-thread memcpy {memcpy:0.00} GB/s").ConfigureAwait(false);

        var results = await RunRanksAsync(settings, cancellationToken).ConfigureAwait(false);
        if (results is null) return ExitCodes.Failure;

        if (!json) await human.WriteLineAsync($"{"size",8} {"bytes",12} {"iters",6} {"median ms",10} {"min ms",9} {"algbw GB/s",11} {"busbw GB/s",11} {"memcpy GB/s",12} {"check",6}").ConfigureAwait(false);
        var wrong = false;
        foreach (var bytes in settings.Sizes)
        {
            var perRank = results.Where(r => r.Bytes == bytes).ToList();
            // The slowest rank's median is the operation's time.
            var ms = perRank.Max(r => r.MedianMs);
            var minMs = perRank.Max(r => r.MinMs);
            var errors = perRank.Sum(r => r.Errors);
            wrong |= errors > 0;
            var algbw = ms > 0 ? bytes / (ms / 1e3) / 1e9 : 0;
            var busbw = algbw * (settings.Ranks == 1 ? 1.0 : 2.0 * (settings.Ranks - 1) / settings.Ranks);
            var check = errors == 0 ? "ok" : $"{errors} wrong";
            if (json)
            {
                var line = new BenchLine("allreduce", settings.Op.ToString().ToLowerInvariant(), settings.Transport, settings.Ranks,
                    BenchDTypes.Name(settings.DType), bytes, perRank[0].Iterations, Math.Round(ms, 5), Math.Round(minMs, 5),
                    Math.Round(algbw, 4), Math.Round(busbw, 4), Math.Round(memcpy, 3), settings.Compress, check);
                await Console.Out.WriteLineAsync(JsonSerializer.Serialize(line, BenchJson.Default.BenchLine)).ConfigureAwait(false);
            }
            else
            {
                await human.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{SizeList.Format(bytes),8} {bytes,12} {perRank[0].Iterations,6} {ms,10:0.0000} {minMs,9:0.0000} {algbw,11:0.000} {busbw,11:0.000} {memcpy,12:0.00} {check,6}")).ConfigureAwait(false);
            }
        }
        return wrong ? ExitCodes.WrongResult : ExitCodes.Success;
    }

    /// <summary>Runs the ranks; null when one failed (its name and output already printed to stderr).</summary>
    private static async Task<List<BenchRankResult>?> RunRanksAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var env = new Dictionary<string, string> { ["CLUSTER_SECRET"] = secret };
        var children = new List<ChildProcess>();
        var ports = new TaskCompletionSource<int>[settings.Ranks];
        var results = new ConcurrentBag<BenchRankResult>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.Timeout);
        try
        {
            var pumps = new List<Task>();
            for (var r = 0; r < settings.Ranks; r++)
            {
                ports[r] = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
                var child = ChildProcess.StartSelf($"rank {r}", settings.ToWorkerArguments(r), env);
                children.Add(child);
                pumps.Add(PumpStdoutAsync(child, ports[r], results));
                pumps.Add(PumpStderrAsync(child));
            }
            var exits = children.Select(c => c.Process.WaitForExitAsync(deadline.Token)).ToArray();
            var portsReady = Task.WhenAll(ports.Select(p => p.Task));
            if (await Task.WhenAny(portsReady, Task.WhenAny(exits), Task.Delay(TimeSpan.FromSeconds(60), deadline.Token)).ConfigureAwait(false) != portsReady)
            {
                var missing = string.Join(", ", Enumerable.Range(0, settings.Ranks).Where(r => !ports[r].Task.IsCompleted).Select(r => $"rank {r}"));
                await Console.Error.WriteLineAsync($"bench: no listen port within 60 s from {missing}").ConfigureAwait(false);
                return null;
            }
            var peers = "peers " + string.Join(',', ports.Select(p => $"127.0.0.1:{p.Task.Result.ToString(CultureInfo.InvariantCulture)}"));
            foreach (var child in children)
            {
                await child.Process.StandardInput.WriteLineAsync(peers).ConfigureAwait(false);
                await child.Process.StandardInput.FlushAsync(deadline.Token).ConfigureAwait(false);
            }
            return await WaitForRanksAsync(children, exits, pumps, results, settings).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var running = string.Join(", ", children.Where(c => !c.Process.HasExited).Select(c => c.Name));
            await Console.Error.WriteLineAsync($"bench: deadline of {settings.Timeout.TotalSeconds:0} s passed; still running: {running}").ConfigureAwait(false);
            return null;
        }
        finally
        {
            foreach (var child in children) child.Dispose();
        }
    }

    private static async Task<List<BenchRankResult>?> WaitForRanksAsync(List<ChildProcess> children, Task[] exits, List<Task> pumps,
        ConcurrentBag<BenchRankResult> results, BenchSettings settings)
    {
        var pending = exits.ToList();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending).ConfigureAwait(false);
            await done.ConfigureAwait(false);
            pending.Remove(done);
            var child = children[Array.IndexOf(exits, done)];
            if (child.Process.ExitCode is not (ExitCodes.Success or ExitCodes.WrongResult))
            {
                await Console.Error.WriteLineAsync($"bench: {child.Name} exited with code {child.Process.ExitCode}").ConfigureAwait(false);
                return null;
            }
        }
        await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var list = results.ToList();
        var expected = settings.Ranks * settings.Sizes.Count;
        if (list.Count != expected)
        {
            await Console.Error.WriteLineAsync($"bench: got {list.Count} results, expected {expected}").ConfigureAwait(false);
            return null;
        }
        return list;
    }

    private static async Task PumpStdoutAsync(ChildProcess child, TaskCompletionSource<int> port, ConcurrentBag<BenchRankResult> results)
    {
        while (await child.Process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith("@bench port ", StringComparison.Ordinal))
                port.TrySetResult(int.Parse(line.AsSpan(12), CultureInfo.InvariantCulture));
            else if (line.StartsWith("@bench result ", StringComparison.Ordinal))
                results.Add(JsonSerializer.Deserialize(line.AsSpan(14), BenchJson.Default.BenchRankResult)!);
            else
                await Console.Error.WriteLineAsync($"[{child.Name}] {line}").ConfigureAwait(false);
        }
    }

    private static async Task PumpStderrAsync(ChildProcess child)
    {
        while (await child.Process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            await Console.Error.WriteLineAsync($"[{child.Name}] {line}").ConfigureAwait(false);
    }
}
