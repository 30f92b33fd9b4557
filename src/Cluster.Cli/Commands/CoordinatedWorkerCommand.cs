using System.CommandLine;
using Cluster.Agent;
using Cluster.Agent.Rank;

namespace Cluster.Cli.Commands;

/// <summary>Hidden `cluster coordinated-worker`: one rank of a coordinated job, started by a node agent with the
/// job id, node id, local rank, job secret and silo gateway in its environment.</summary>
internal sealed class CoordinatedWorkerCommand : BaseCommand
{
    public CoordinatedWorkerCommand() : base("coordinated-worker", "Run one rank of a coordinated job (started by a node agent)")
    {
        Hidden = true;
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        RankSettings settings;
        try { settings = RankSettings.FromEnvironment(Environment.GetEnvironmentVariable); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        try
        {
            return await new CoordinatedRank(settings, Console.Out).RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"{settings.MemberId}: {e.Message}").ConfigureAwait(false);
            return RankExitCodes.Failure;
        }
    }
}
