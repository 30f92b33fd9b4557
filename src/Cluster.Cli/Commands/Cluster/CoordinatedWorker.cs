using Cluster.Agent;
using Cluster.Agent.Rank;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>`cluster worker --coordinated`: one rank of a coordinated job, started by a node agent with the job id,
/// node id, local rank, job secret and silo gateway in its environment.</summary>
internal static class CoordinatedWorker
{
    public static async Task<int> RunAsync(CancellationToken cancellationToken)
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
