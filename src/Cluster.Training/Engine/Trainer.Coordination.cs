using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using TorchSharp.Modules;

namespace Cluster.Training.Engine;

public sealed partial class Trainer
{
    /// <summary>Per-rank file of a coordinated checkpoint: the rank's step and sampler position.</summary>
    public static string RankProgressFile(int rank) => $"rank-{rank}.json";

    /// <summary>
    /// Coordinated checkpoint (the coordinator's two-phase commit): writes this rank's files into
    /// <paramref name="directory"/> synchronously and durably (temp file, fsync, rename, fsync directory) and returns
    /// their names. Rank 0 writes the model, optimizer and trainer progress; every rank writes its own progress file.
    /// Called at a step boundary on the training thread.
    /// </summary>
    public IReadOnlyList<string> WriteCoordinatedCheckpoint(string directory, SamplerCursor cursor)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(cursor);
        Directory.CreateDirectory(directory);
        shadow?.BuffersToMaster();
        var progress = CurrentProgress(cursor);
        var parts = new List<ICheckpointPart> { new JsonCheckpointPart<TrainerProgress>(RankProgressFile(communicator.Rank), () => progress, _ => { }) };
        if (communicator.Rank == 0)
        {
            parts.Add(new ModuleCheckpointPart(master, TrainerCheckpoint.ModelFile));
            parts.Add(new OptimizerCheckpointPart((OptimizerHelper)optimizer, TrainerCheckpoint.OptimizerFile));
            parts.Add(new JsonCheckpointPart<TrainerProgress>(TrainerCheckpoint.ProgressFile, () => progress, _ => { }));
        }
        foreach (var part in parts)
        {
            using var buffer = new MemoryStream();
            part.Write(buffer);
            DurableFile.Write(Path.Combine(directory, part.Name), buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }
        DurableFile.SyncDirectory(directory);
        return parts.Select(p => p.Name).ToList();
    }
}
