using System.Text.Json;

namespace Cluster.Training.Checkpoints;

internal static class CheckpointJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    /// <summary>For the manifest: an unknown (e.g. bit-flipped) property name is an error, not silently ignored.</summary>
    public static readonly JsonSerializerOptions Strict = new(Options)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };
}
