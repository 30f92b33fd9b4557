using TorchSharp.Modules;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// An optimizer's state (TorchSharp <c>save_state_dict</c>/<c>load_state_dict</c> format). With a
/// <see cref="OptimizerTwin"/>, capturing copies the state into the twin and the twin is serialised in the background;
/// without one (or when the state cannot be copied) capturing serialises at once.
/// </summary>
public sealed class OptimizerCheckpointPart(OptimizerHelper optimizer, string name = "optimizer.bin", OptimizerTwin? twin = null) : ICapturableCheckpointPart
{
    public string Name { get; } = CheckpointNames.ValidatePart(name);

    public void Write(Stream destination) => WriteState(optimizer, destination);

    public void Read(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        optimizer.load_state_dict(reader);
    }

    public ICapturedPart Capture()
    {
        if (twin?.CopyFrom(optimizer) is not { } copy)
        {
            using var ms = new MemoryStream();
            Write(ms);
            return new SerializedPart(Name, ms.GetBuffer().AsMemory(0, (int)ms.Length));
        }
        return new DelegateCapturedPart(Name, destination => WriteState(copy, destination), () => { });
    }

    private static void WriteState(OptimizerHelper source, Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        source.save_state_dict(writer);
        writer.Flush();
    }
}
