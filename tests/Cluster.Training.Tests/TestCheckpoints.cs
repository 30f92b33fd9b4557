using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Checkpoints;
using Cluster.Training.Engine;

namespace Cluster.Training.Tests;

/// <summary>Trainer options that checkpoint into <c>root</c> without a coordinator and resume from its newest committed checkpoint.</summary>
internal static class TestCheckpoints
{
    public static TrainerOptions In(this TrainerOptions? options, string? root, int rank = 0, int worldSize = 1)
    {
        options ??= new TrainerOptions();
        if (root is null) return options;
        var scan = CheckpointLineage.Scan(root, 3);
        return options with
        {
            Checkpoints = rank == 0 ? new LocalCheckpointCommitter(root, scan, 3, "test", [], 0, worldSize) : null,
            RestoreFrom = scan.Latest,
        };
    }
}
