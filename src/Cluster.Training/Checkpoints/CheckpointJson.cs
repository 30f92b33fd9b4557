using System.Text.Json;

namespace Cluster.Training.Checkpoints;

internal static class CheckpointJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };
}
