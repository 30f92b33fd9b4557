using System.CommandLine;
using Cluster.Abstractions;
using Cluster.Agent.Client;
using Cluster.Cli.Commands.Cluster;

namespace Cluster.Cli.Commands;

/// <summary>Hidden `cluster run-coordinated job.yaml --workers N [--json]`: the embedded-coordinator run (becomes `cluster run`).</summary>
internal sealed class RunEmbeddedCommand : BaseCommand
{
    private readonly Argument<FileInfo> job = new("job") { Description = "Job spec (YAML)" };
    private readonly Option<int?> workers = new("--workers") { Description = "Number of local rank processes (default: workers.min x workers.nprocPerNode)" };
    private readonly Option<bool> json = new("--json") { Description = "Print a JSON summary as the last stdout line; human text goes to stderr" };
    private readonly Option<int> timeout = new("--timeout") { Description = "Kill the job after this many seconds", DefaultValueFactory = _ => 7 * 24 * 3600 };
    private readonly Option<string?> logs = new("--logs") { Description = "Folder of rank logs (default ~/.local/share/cluster/logs)" };

    public RunEmbeddedCommand() : base("run-coordinated", "Run a training job on local rank processes through an embedded coordinator")
    {
        Hidden = true;
        Arguments.Add(job);
        Options.Add(workers);
        Options.Add(json);
        Options.Add(timeout);
        Options.Add(logs);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var asJson = parseResult.GetValue(json);
        var human = asJson ? Console.Error : Console.Out;
        var file = parseResult.GetValue(job) ?? throw new UsageException("a job spec file is required");
        JobSpec spec;
        try { spec = JobSubmission.Load(file.FullName); }
        catch (JobSpecException e) { throw new UsageException(e.Message); }
        var n = parseResult.GetValue(workers) ?? spec.Workers.Min * spec.Workers.NprocPerNode;
        if (n is < 1 or > 256) throw new UsageException($"--workers must be in [1, 256] (got {n})");
        var limit = parseResult.GetValue(timeout);
        if (limit < 1) throw new UsageException($"--timeout must be >= 1 second (got {limit})");
        var logsDir = Path.GetFullPath(parseResult.GetValue(logs) ?? ClusterDefaults.LogsDirectory);
        var interactive = !asJson && !Console.IsOutputRedirected && Spectre.Console.AnsiConsole.Profile.Capabilities.Interactive;
        var (summary, code) = await new EmbeddedRun(human, interactive).RunAsync(spec, n, logsDir, TimeSpan.FromSeconds(limit), cancellationToken).ConfigureAwait(false);
        if (summary.Error is null)
            await human.WriteLineAsync($"run: {summary.Status}: {summary.Epochs} epoch(s), {summary.Steps} steps, test accuracy {summary.TestAccuracy:F4}, " +
                $"test loss {summary.TestLoss:F4}, {summary.SamplesPerSec:F0} samples/s, {summary.WallSeconds:F1} s").ConfigureAwait(false);
        if (asJson) await Console.Out.WriteLineAsync(summary.ToJson()).ConfigureAwait(false);
        return code;
    }
}
