using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Cli.Commands.Run;

/// <summary>What `cluster run` hands to every local rank (a JSON file readable only by the user; the rank itself comes
/// from the CLUSTER_RANK environment variable). Contains the job secret.</summary>
internal sealed record WorkerConfig
{
    public const string PathVariable = "CLUSTER_WORKER_CONFIG";
    public const string RankVariable = "CLUSTER_RANK";

    [JsonPropertyName("jobId")] public required string JobId { get; init; }
    [JsonPropertyName("specPath")] public required string SpecPath { get; init; }
    [JsonPropertyName("hosts")] public required string[] Hosts { get; init; }
    [JsonPropertyName("ports")] public required int[] Ports { get; init; }
    [JsonPropertyName("secretHex")] public required string SecretHex { get; init; }
    /// <summary>Rank 0 writes its <see cref="RunSummary"/> here.</summary>
    [JsonPropertyName("resultPath")] public required string ResultPath { get; init; }
    [JsonPropertyName("threadsPerRank")] public int ThreadsPerRank { get; init; } = 1;
    /// <summary>`--fresh`: ignore the spec's checkpoints on disk.</summary>
    [JsonPropertyName("fresh")] public bool Fresh { get; init; }
    /// <summary>Benchmark runs (`cluster bench ddp`): replaces the spec's checkpointing and evaluation.</summary>
    [JsonPropertyName("bench")] public WorkerBenchSettings? Bench { get; init; }

    public void Write(string path)
    {
        File.WriteAllText(path, JsonSerializer.Serialize(this));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public static WorkerConfig Read(string path) =>
        JsonSerializer.Deserialize<WorkerConfig>(File.ReadAllText(path)) ?? throw new UsageException($"worker config {path} is empty");
}
