using System.CommandLine;
using Cluster.Abstractions;
using Cluster.Cli.Commands.Cluster;
using Cluster.Cli.Commands.Run;

namespace Cluster.Cli.Commands;

/// <summary>`cluster run job.yaml --workers N [--json]`: runs a training job on N local rank processes. By default through
/// an embedded coordinator (in-process silo and node agent; the ranks join through the grains); with --static the ranks
/// get a static peer list on 127.0.0.1 and a random job secret. With --json the last stdout line is a JSON summary and all human text goes
/// to stderr.</summary>
internal sealed class RunCommand : BaseCommand
{
    private readonly Argument<FileInfo> job = new("job") { Description = "Job spec (YAML)" };
    private readonly Option<int?> workers = new("--workers") { Description = "Number of local rank processes (default: the spec's workers.min)" };
    private readonly Option<int> timeout = new("--timeout") { Description = "Kill the job after this many seconds", DefaultValueFactory = _ => 7 * 24 * 3600 };
    private readonly Option<bool> staticPeers = new("--static") { Description = "Skip the coordinator: start the ranks with a static peer list" };
    private readonly Option<string?> logs = new("--logs") { Description = "Folder of rank logs (default ~/.local/share/cluster/logs)" };
    private readonly Option<bool> json = new("--json") { Description = "Print a JSON summary as the last stdout line; human text goes to stderr" };
    private readonly Option<bool> fresh = new("--fresh") { Description = "Start over: do not resume from the spec's committed checkpoints" };
    private readonly Option<FileInfo?> rankHost = new("--rank-host")
    {
        Description = "Start each rank with this program (an executable, or a .dll run by dotnet) instead of `cluster worker --coordinated`; it runs Cluster.Agent's CoordinatedRank",
    };

    public RunCommand() : base("run", "Run a training job on local worker processes")
    {
        Arguments.Add(job);
        Options.Add(workers);
        Options.Add(timeout);
        Options.Add(json);
        Options.Add(staticPeers);
        Options.Add(logs);
        Options.Add(fresh);
        Options.Add(rankHost);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        if (!parseResult.GetValue(staticPeers))
        {
            // Default: an embedded coordinator (in-process silo and node agent); the ranks join through the grains.
            return await EmbeddedRunEntry.RunAsync(parseResult.GetValue(job) ?? throw new UsageException("a job spec file is required"),
                parseResult.GetValue(workers), parseResult.GetValue(json), parseResult.GetValue(timeout), parseResult.GetValue(logs), parseResult.GetValue(fresh),
                parseResult.GetValue(rankHost), cancellationToken).ConfigureAwait(false);
        }
        if (parseResult.GetValue(rankHost) is not null) throw new UsageException("--rank-host needs the embedded coordinator (not --static)");
        var asJson = parseResult.GetValue(json);
        var human = asJson ? Console.Error : Console.Out;
        var (file, spec) = SpecArgument.Load(parseResult, job);
        var n = parseResult.GetValue(workers) ?? spec.Workers.Min;
        if (n < 1 || n > 256) throw new UsageException($"--workers must be in [1, 256] (got {n})");
        var limit = parseResult.GetValue(timeout);
        if (limit < 1) throw new UsageException($"--timeout must be >= 1 second (got {limit})");

        var summary = await StaticRun.RunAsync(spec, file.FullName, n, Math.Max(1, Environment.ProcessorCount / n), bench: null,
            TimeSpan.FromSeconds(limit), human, cancellationToken, parseResult.GetValue(fresh)).ConfigureAwait(false);
        if (StaticRun.Succeeded(summary))
            await human.WriteLineAsync($"run: {summary.Status}: {summary.Epochs} epoch(s), {summary.Steps} steps, test accuracy {summary.TestAccuracy:F4}, " +
                $"test loss {summary.TestLoss:F4}, {summary.SamplesPerSec:F0} samples/s, {summary.WallSeconds:F1} s").ConfigureAwait(false);
        if (asJson) Console.Out.WriteLine(summary.ToJson());
        return StaticRun.Succeeded(summary) ? ExitCodes.Success : ExitCodes.Failure;
    }
}
