using TorchSharp;

namespace Cluster.Training.Checkpoints;

/// <summary>A model's state_dict in TorchSharp's own format: the file loads with <c>Module.load(path)</c>.</summary>
public sealed class ModuleCheckpointPart(torch.nn.Module module, string name = "model.bin") : ICheckpointPart
{
    public string Name { get; } = CheckpointNames.ValidatePart(name);

    public void Write(Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        module.save(writer);
        writer.Flush();
    }

    public void Read(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        module.load(reader);
    }
}
