using System.CommandLine;
using Cluster.Cli.Commands.Cluster;

namespace Cluster.Cli.Commands;

/// <summary>Hidden `cluster run-coordinated job.yaml --workers N [--json]`: the embedded-coordinator run (what `cluster run` does by default).</summary>
internal sealed class RunEmbeddedCommand : BaseCommand
{
    private readonly Argument<FileInfo> job = new("job") { Description = "Job spec (YAML)" };
    private readonly Option<int?> workers = new("--workers") { Description = "Number of local rank processes (default: the spec's workers.min)" };
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

    protected override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken) =>
        EmbeddedRunEntry.RunAsync(parseResult.GetValue(job) ?? throw new UsageException("a job spec file is required"), parseResult.GetValue(workers),
            parseResult.GetValue(json), parseResult.GetValue(timeout), parseResult.GetValue(logs), cancellationToken);
}
