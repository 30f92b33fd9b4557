using System.Text.Json;

namespace Cluster.Training.Checkpoints;

/// <summary>Small state (an LR scheduler's epoch, counters, ...) stored as JSON.</summary>
public sealed class JsonCheckpointPart<T>(string name, Func<T> get, Action<T> set) : ICheckpointPart
{
    public string Name { get; } = CheckpointNames.ValidatePart(name);

    public void Write(Stream destination) => JsonSerializer.Serialize(destination, get(), CheckpointJson.Options);

    public void Read(Stream source) =>
        set(JsonSerializer.Deserialize<T>(source, CheckpointJson.Options) ?? throw new InvalidDataException($"Checkpoint part {Name} holds JSON null."));
}
