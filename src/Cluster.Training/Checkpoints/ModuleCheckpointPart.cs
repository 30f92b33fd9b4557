using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// A model's state_dict in TorchSharp's own format: the file loads with <c>Module.load(path)</c>. Capturing clones
/// every parameter and buffer (a memory copy); the clones are written with TorchSharp's own
/// <c>Module.save_state_dict</c>, so the bytes are those <c>Module.save</c> writes.
/// </summary>
public sealed class ModuleCheckpointPart(nn.Module module, string name = "model.bin") : ICapturableCheckpointPart
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
        var copies = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var (key, tensor) in module.state_dict())
            {
                using var detached = tensor.detach();
                copies.Add(key, detached.clone().DetachFromDisposeScope());
            }
        }
        return new DelegateCapturedPart(Name, destination =>
        {
            using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
            nn.Module.save_state_dict(writer, copies);
            writer.Flush();
        }, () =>
        {
            foreach (var copy in copies.Values) copy.Dispose();
        });
    }
}
