using TorchSharp.Modules;

namespace Cluster.Training.Checkpoints;

/// <summary>An optimizer's state (TorchSharp <c>save_state_dict</c>/<c>load_state_dict</c> format).</summary>
public sealed class OptimizerCheckpointPart(OptimizerHelper optimizer, string name = "optimizer.bin") : ICheckpointPart
{
    public string Name { get; } = CheckpointNames.ValidatePart(name);

    public void Write(Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        optimizer.save_state_dict(writer);
        writer.Flush();
    }

    public void Read(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        optimizer.load_state_dict(reader);
    }
}
