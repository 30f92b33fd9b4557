using System.CommandLine;
using Cluster.Cli.Commands.Cluster;

namespace Cluster.Cli.Commands;

/// <summary>Hidden `cluster coordinated-worker`: same as `cluster worker --coordinated`.</summary>
internal sealed class CoordinatedWorkerCommand : BaseCommand
{
    public CoordinatedWorkerCommand() : base("coordinated-worker", "Run one rank of a coordinated job (started by a node agent)")
    {
        Hidden = true;
    }

    protected override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken) => CoordinatedWorker.RunAsync(cancellationToken);
}
