using System.Text.Json;
using Orleans.Storage;

namespace Cluster.Coordinator.Storage;

/// <summary>
/// The one JSON form of the coordinator's grain state, for every storage (files, Redis): System.Text.Json with web
/// defaults. It writes the declared shape of a state, never a runtime type name, so a list built by a collection
/// expression (a compiler-synthesized read-only type) reads back as a list; Orleans' default Newtonsoft storage
/// serializer wrote such type names, which its type filter then refused to read back (a reactivated job grain failed).
/// </summary>
public sealed class GrainStateJson : IGrainStorageSerializer
{
    /// <summary>The serializer options every storage of the coordinator uses.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <inheritdoc />
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, Options));

    /// <inheritdoc />
    public T Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return JsonSerializer.Deserialize<T>(input.ToMemory().Span, Options)
            ?? throw new InvalidDataException($"grain state of {typeof(T).Name} is empty (null)");
    }
}
