using Cluster.Abstractions;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Checkpoints;

namespace Cluster.Cli.Commands.Run;

/// <summary>
/// Checkpoints of a rank started without a coordinator (`cluster run --static`, `cluster bench ddp`): the same lineage
/// root (<c>checkpoint.dir/name</c>), layout and manifests as coordinated jobs; rank 0 commits locally. Every rank reads
/// the lineage itself and starts from its newest committed checkpoint that verifies, unless <c>fresh</c>.
/// </summary>
internal static class StaticCheckpoints
{
    /// <summary>The committer (rank 0 only; null elsewhere or without a directory), the restore point and a note for the log.</summary>
    public static (ICheckpointCommitter? Committer, CheckpointManifest? RestoreFrom, string? Note) Open(
        JobSpec spec, string? checkpointDirectory, bool fresh, int rank, int worldSize)
    {
        if (string.IsNullOrWhiteSpace(checkpointDirectory)) return (null, null, null);
        var root = CheckpointLineage.RootOf(Path.GetFullPath(checkpointDirectory), spec.Name);
        var scan = CheckpointLineage.Scan(root, spec.Checkpoint.KeepLast);
        var start = CheckpointLineage.Start(scan, spec, fresh, root);
        if (start.Mismatch is { } why) throw new UsageException(why);
        var committer = rank == 0
            ? new LocalCheckpointCommitter(root, start.RestoreFrom is null ? scan with { Committed = [] } : scan, spec.Checkpoint.KeepLast, spec.Name,
                CheckpointLineage.FieldsOf(spec), spec.Training.Seed, worldSize)
            : null;
        // An already complete lineage is resumed anyway: the trainer finds nothing left to train and reports its quality.
        return (committer, start.RestoreFrom, start.Note);
    }
}
