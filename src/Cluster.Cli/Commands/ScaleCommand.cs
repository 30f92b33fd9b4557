using System.CommandLine;
using Cluster.Agent.Client;
using Cluster.Cli.Commands.Cluster;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands;

/// <summary>
/// `cluster scale job --workers N --redis host:port`: sets the job's worker count within <c>workers.min</c>..<c>workers.max</c>.
/// Fewer: the last nodes leave at the next step boundary; more: waiting spares and agents that join are admitted at a
/// step boundary. Exit 0 when accepted, 2 with the reason when refused (outside the range, the job is not running).
/// </summary>
internal sealed class ScaleCommand : BaseCommand
{
    private readonly Argument<string> job = new("job") { Description = "Job id" };
    private readonly Option<int> workers = new("--workers") { Description = "Worker nodes the job runs with (within workers.min..workers.max)", Required = true };
    private readonly ClusterConnection connection = new();

    public ScaleCommand() : base("scale", "Change the number of worker nodes of a running job")
    {
        Arguments.Add(job);
        Options.Add(workers);
        connection.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var jobId = parseResult.GetValue(job)!;
        var count = parseResult.GetValue(workers);
        if (count < 1) throw new UsageException($"--workers must be >= 1 (got {count})");
        CoordinatorClient client;
        try { client = await connection.ConnectAsync(parseResult, cancellationToken).ConfigureAwait(false); }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"scale: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        await using (client.ConfigureAwait(false))
        {
            var result = await client.Grains.GetGrain<IJobGrain>(jobId).Scale(count).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!result.Accepted)
            {
                await Console.Error.WriteLineAsync($"scale: {jobId}: {result.Reason}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }
            await Console.Out.WriteLineAsync($"{jobId}: {count} worker(s): {result.Reason}").ConfigureAwait(false);
            return ExitCodes.Success;
        }
    }
}
