using System.CommandLine;
using Cluster.Abstractions;
using Cluster.Agent.Client;
using Cluster.Agent.Grains;
using Cluster.Cli.Commands.Cluster;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands;

/// <summary>`cluster submit job.yaml --redis host:port`: validates the spec (before contacting anything), submits it to
/// the job grain and lists it in the job directory, where the node agents pick it up. Prints the job id on stdout.</summary>
internal sealed class SubmitCommand : BaseCommand
{
    private readonly Argument<FileInfo> job = new("job") { Description = "Job spec (YAML)" };
    private readonly Option<string?> id = new("--id") { Description = "Job id (default: the spec name plus a random suffix)" };
    private readonly Option<bool> fresh = new("--fresh") { Description = "Start over: do not resume from the spec's committed checkpoints" };
    private readonly ClusterConnection connection = new();

    public SubmitCommand() : base("submit", "Submit a training job to a cluster of agents")
    {
        Arguments.Add(job);
        Options.Add(id);
        Options.Add(fresh);
        connection.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var file = parseResult.GetValue(job) ?? throw new UsageException("a job spec file is required");
        JobSpec spec;
        JobSpecSummary summary;
        try
        {
            spec = JobSubmission.Load(file.FullName);
            var jobId = parseResult.GetValue(id) ?? JobSubmission.NewJobId(spec);
            summary = JobSubmission.Summarize(spec, jobId, spec.Workers.Min, spec.Workers.Max, spec.Workers.NprocPerNode, parseResult.GetValue(fresh));
        }
        catch (JobSpecException e) { throw new UsageException(e.Message); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }

        CoordinatorClient client;
        try { client = await connection.ConnectAsync(parseResult, cancellationToken).ConfigureAwait(false); }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"submit: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        await using (client.ConfigureAwait(false))
        {
            SubmitResult result;
            try { result = await client.Grains.GetGrain<IJobGrain>(summary.JobId).Submit(summary).WaitAsync(cancellationToken).ConfigureAwait(false); }
            catch (InvalidOperationException e) { throw new UsageException(e.Message); } // a different spec under this id, or one that does not match its checkpoints
            if (result.RestoreNote is { } note) await Console.Error.WriteLineAsync($"submit: {note}").ConfigureAwait(false);
            await client.Grains.GetGrain<IJobDirectoryGrain>(JobDirectory.Key).Add(summary).WaitAsync(cancellationToken).ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"submit: job {summary.JobId} {(result.Created ? "submitted" : "already submitted")}: " +
                $"{summary.MinWorkers}..{summary.MaxWorkers} node(s) x {summary.NprocPerNode} rank(s)").ConfigureAwait(false);
            await Console.Out.WriteLineAsync(summary.JobId).ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }
}
