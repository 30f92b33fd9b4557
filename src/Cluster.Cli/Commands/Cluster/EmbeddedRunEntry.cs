using Cluster.Abstractions;
using Cluster.Agent.Client;
using Cluster.Cli.Commands.Run;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>The embedded-coordinator path of `cluster run`: validate the spec, run it, print the summary.</summary>
internal static class EmbeddedRunEntry
{
    public static async Task<int> RunAsync(FileInfo file, int? workers, bool asJson, int timeoutSeconds, string? logs, bool fresh, FileInfo? rankHost,
        CancellationToken cancellationToken)
    {
        var human = asJson ? Console.Error : Console.Out;
        JobSpec spec;
        try { spec = JobSubmission.Load(file.FullName); }
        catch (JobSpecException e) { throw new UsageException(e.Message); }
        var n = workers ?? spec.Workers.Min;
        if (n is < 1 or > 256) throw new UsageException($"--workers must be in [1, 256] (got {n})");
        try { spec.Workers.RankBounds(1, 1, n, file.Name); } // one node of n ranks
        catch (JobSpecException e) { throw new UsageException(e.Message); }
        if (timeoutSeconds < 1) throw new UsageException($"--timeout must be >= 1 second (got {timeoutSeconds})");
        var logsDir = Path.GetFullPath(logs ?? ClusterDefaults.LogsDirectory);
        IReadOnlyList<string> rankCommand = SelfCommand.With(SelfCommand.CoordinatedWorker);
        if (rankHost is not null)
        {
            if (!rankHost.Exists) throw new UsageException($"--rank-host '{rankHost.FullName}' does not exist");
            rankCommand = rankHost.Extension.Equals(".dll", StringComparison.OrdinalIgnoreCase) ? ["dotnet", rankHost.FullName] : [rankHost.FullName];
        }
        var interactive = !asJson && !Console.IsOutputRedirected && Spectre.Console.AnsiConsole.Profile.Capabilities.Interactive;
        var (summary, code) = await new EmbeddedRun(human, interactive)
            .RunAsync(spec, n, logsDir, TimeSpan.FromSeconds(timeoutSeconds), fresh, rankCommand, cancellationToken).ConfigureAwait(false);
        if (summary.Error is null && summary.Status != RunSummary.AlreadyComplete)
            await human.WriteLineAsync($"run: {summary.Status}: {summary.Epochs} epoch(s), {summary.Steps} steps, test accuracy {summary.TestAccuracy:F4}, " +
                $"test loss {summary.TestLoss:F4}, {summary.SamplesPerSec:F0} samples/s, {summary.WallSeconds:F1} s").ConfigureAwait(false);
        if (asJson) await Console.Out.WriteLineAsync(summary.ToJson()).ConfigureAwait(false);
        return code;
    }
}
