using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// A model's state_dict in TorchSharp's own format: the file loads with <c>Module.load(path)</c>. Capturing copies
/// every parameter and buffer (into <paramref name="twin"/>'s tensors when given, else into fresh clones); the copies
/// are written with TorchSharp's own <c>Module.save_state_dict</c>, so the bytes are those <c>Module.save</c> writes.
/// </summary>
public sealed class ModuleCheckpointPart(nn.Module module, string name = "model.bin", ModuleTwin? twin = null) : ICapturableCheckpointPart
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

    public ICapturedPart Capture()
    {
        if (twin is not null)
        {
            var held = twin.CopyFrom(module);
            return new DelegateCapturedPart(Name, destination => WriteState(held, destination), () => { });
        }
        var copies = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var (key, tensor) in module.state_dict())
            {
                using var detached = tensor.detach();
                copies.Add(key, detached.clone().DetachFromDisposeScope());
            }
        }
        return new DelegateCapturedPart(Name, destination => WriteState(copies, destination), () =>
        {
            foreach (var copy in copies.Values) copy.Dispose();
        });
    }

    private static void WriteState(IReadOnlyDictionary<string, Tensor> copies, Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        nn.Module.save_state_dict(writer, copies.ToDictionary(StringComparer.Ordinal));
        writer.Flush();
    }
}
