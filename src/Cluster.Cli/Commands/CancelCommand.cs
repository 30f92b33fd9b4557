using System.CommandLine;
using Cluster.Agent.Client;
using Cluster.Cli.Commands.Cluster;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands;

/// <summary>`cluster cancel job --redis host:port`: cancels the job; the agents then kill its ranks.</summary>
internal sealed class CancelCommand : BaseCommand
{
    private readonly Argument<string> job = new("job") { Description = "Job id" };
    private readonly Option<string> reason = new("--reason") { Description = "Reason recorded with the cancellation", DefaultValueFactory = _ => "cancelled by the user" };
    private readonly ClusterConnection connection = new();

    public CancelCommand() : base("cancel", "Cancel a job")
    {
        Arguments.Add(job);
        Options.Add(reason);
        connection.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var jobId = parseResult.GetValue(job)!;
        CoordinatorClient client;
        try { client = await connection.ConnectAsync(parseResult, cancellationToken).ConfigureAwait(false); }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"cancel: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        await using (client.ConfigureAwait(false))
        {
            JobStatus status;
            try { status = await client.Grains.GetGrain<IJobGrain>(jobId).Cancel(parseResult.GetValue(reason)!).WaitAsync(cancellationToken).ConfigureAwait(false); }
            catch (InvalidOperationException e) { throw new UsageException(e.Message); }
            await Console.Out.WriteLineAsync($"{jobId}: {status.State.ToString().ToLowerInvariant()}{(status.FailureReason is { } r ? $" ({r})" : "")}").ConfigureAwait(false);
            return status.State == JobState.Cancelled ? ExitCodes.Success : ExitCodes.Failure;
        }
    }
}
