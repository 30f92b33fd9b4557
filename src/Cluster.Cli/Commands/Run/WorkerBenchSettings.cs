using System.Text.Json.Serialization;

namespace Cluster.Cli.Commands.Run;

/// <summary>How a `cluster bench ddp` rank deviates from the job spec: stop after <see cref="MaxSteps"/>, time from
/// <see cref="WarmupSteps"/> on, skip the
/// per-epoch evaluation, never resume, checkpoint into a scratch <see cref="CheckpointDirectory"/> every
/// <see cref="CheckpointIntervalSteps"/> steps (0: never), and optionally alternate steps without the gradient all-reduce.</summary>
internal sealed record WorkerBenchSettings
{
    [JsonPropertyName("maxSteps")] public long MaxSteps { get; init; }
    /// <summary>Timings count from this step on (the first steps warm allocators and caches up).</summary>
    [JsonPropertyName("warmupSteps")] public long WarmupSteps { get; init; }
    /// <summary>Blocks of this many steps alternate with and without the gradient all-reduce (0: always all-reduce).</summary>
    [JsonPropertyName("alternateGradientSyncSteps")] public int AlternateGradientSyncSteps { get; init; }
    [JsonPropertyName("checkpointDirectory")] public string? CheckpointDirectory { get; init; }
    [JsonPropertyName("checkpointIntervalSteps")] public int CheckpointIntervalSteps { get; init; }
    /// <summary>Run the per-step vote of elastic jobs (it never ends the generation here), to time what it costs.</summary>
    [JsonPropertyName("stepVote")] public bool StepVote { get; init; }
}
