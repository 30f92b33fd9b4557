using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Cli.Commands.Run;

/// <summary>The `cluster run --json` result (last stdout line).</summary>
internal sealed record RunSummary
{
    /// <summary><see cref="Status"/> of a run whose spec's newest checkpoint is the final one of a finished run.</summary>
    public const string AlreadyComplete = "already_complete";

    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("workers")] public int Workers { get; init; }
    [JsonPropertyName("epochs")] public int Epochs { get; init; }
    [JsonPropertyName("steps")] public long Steps { get; init; }
    [JsonPropertyName("skipped_steps")] public int SkippedSteps { get; init; }
    [JsonPropertyName("train_loss")] public double? TrainLoss { get; init; }
    [JsonPropertyName("test_accuracy")] public double? TestAccuracy { get; init; }
    [JsonPropertyName("test_loss")] public double? TestLoss { get; init; }
    [JsonPropertyName("test_macro_f1")] public double? TestMacroF1 { get; init; }
    [JsonPropertyName("samples_per_sec")] public double SamplesPerSec { get; init; }
    [JsonPropertyName("wall_seconds")] public double WallSeconds { get; init; }
    [JsonPropertyName("timings")] public RunTimings? Timings { get; init; }
    [JsonPropertyName("failed_rank")] public int? FailedRank { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    /// <summary>The generation the job ended in (1 unless ranks were lost and the survivors went on).</summary>
    [JsonPropertyName("generation")] public long Generation { get; init; }
    /// <summary>Elastic recoveries: from which generation to which, why, and seconds from the decision to the first step after it.</summary>
    [JsonPropertyName("recoveries")] public IReadOnlyList<RunRecovery>? Recoveries { get; init; }

    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static RunSummary FromJson(string json) => JsonSerializer.Deserialize<RunSummary>(json, Options)
        ?? throw new InvalidDataException("empty run summary");
}
