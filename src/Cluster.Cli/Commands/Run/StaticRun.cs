using System.Diagnostics;
using System.Security.Cryptography;
using Cluster.Abstractions;

namespace Cluster.Cli.Commands.Run;

/// <summary>One job on N local rank processes with a static peer list on 127.0.0.1 and a random job secret
/// (`cluster run --static`, `cluster bench ddp`). Always returns a summary: completed, failed or timed_out.</summary>
internal static class StaticRun
{
    public static async Task<RunSummary> RunAsync(
        JobSpec spec, string specPath, int workers, int threadsPerRank, WorkerBenchSettings? bench, TimeSpan limit, TextWriter human,
        CancellationToken cancellationToken, bool fresh = false)
    {
        var stopwatch = Stopwatch.StartNew();
        var temp = Directory.CreateTempSubdirectory("cluster-run-");
        try
        {
            var config = new WorkerConfig
            {
                JobId = $"{spec.Name}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}",
                SpecPath = specPath,
                Hosts = Enumerable.Repeat("127.0.0.1", workers).ToArray(),
                Ports = FreePorts.Pick(workers),
                SecretHex = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
                ResultPath = Path.Combine(temp.FullName, "result.json"),
                ThreadsPerRank = threadsPerRank,
                Bench = bench,
                Fresh = fresh,
            };
            var configPath = Path.Combine(temp.FullName, "worker.json");
            config.Write(configPath);
            await human.WriteLineAsync($"run: job {config.JobId}, {workers} worker(s) on 127.0.0.1 ports {string.Join(",", config.Ports)}").ConfigureAwait(false);

            (int Rank, int ExitCode)? failure;
            try
            {
                failure = await new LocalLauncher(human).RunAsync(workers, configPath, limit, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                await human.WriteLineAsync($"run: {ex.Message}").ConfigureAwait(false);
                return new RunSummary { Status = "timed_out", Workers = workers, Error = ex.Message, WallSeconds = stopwatch.Elapsed.TotalSeconds };
            }
            if (failure is { } f)
            {
                var message = $"rank {f.Rank} failed with exit code {f.ExitCode}";
                await human.WriteLineAsync($"run: {message}").ConfigureAwait(false);
                return new RunSummary { Status = "failed", Workers = workers, FailedRank = f.Rank, Error = message, WallSeconds = stopwatch.Elapsed.TotalSeconds };
            }
            if (!File.Exists(config.ResultPath))
            {
                await human.WriteLineAsync("run: rank 0 exited without writing its result").ConfigureAwait(false);
                return new RunSummary { Status = "failed", Workers = workers, Error = "no result from rank 0", WallSeconds = stopwatch.Elapsed.TotalSeconds };
            }
            return RunSummary.FromJson(await File.ReadAllTextAsync(config.ResultPath, cancellationToken).ConfigureAwait(false))
                with { WallSeconds = stopwatch.Elapsed.TotalSeconds, Workers = workers };
        }
        finally
        {
            try { temp.Delete(recursive: true); }
            catch (IOException) { /* best effort */ }
        }
    }

    /// <summary>Completed runs and early stops succeeded; anything else failed.</summary>
    public static bool Succeeded(RunSummary summary) => summary.Status is "completed" or "early_stopped";
}
