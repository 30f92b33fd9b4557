namespace Cluster.Training.Checkpoints;

/// <summary>A part already serialised at capture time (parts that cannot be copied cheaply, and small ones).</summary>
internal sealed class SerializedPart(string name, ReadOnlyMemory<byte> bytes) : ICapturedPart
{
    public string Name { get; } = name;
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    public void Write(Stream destination) => destination.Write(Bytes.Span);

    public void Dispose() { }
}
