using System.Text.Json.Serialization;

namespace Cluster.Training.Engine;

/// <summary>The trainer's own counters, saved with every checkpoint (model and optimizer state are separate files).</summary>
public sealed record TrainerProgress
{
    [JsonPropertyName("step")] public long Step { get; init; }
    /// <summary>Epoch of the sampler cursor (0-based).</summary>
    [JsonPropertyName("epoch")] public int Epoch { get; init; }
    /// <summary>Samples of the epoch's global sequence consumed by all ranks together.</summary>
    [JsonPropertyName("position")] public long Position { get; init; }
    [JsonPropertyName("skippedSteps")] public int SkippedSteps { get; init; }
    [JsonPropertyName("bestMetric")] public double? BestMetric { get; init; }
    [JsonPropertyName("epochsWithoutImprovement")] public int EpochsWithoutImprovement { get; init; }
    /// <summary>Evaluation losses the reduce-on-plateau schedule has seen (replayed on resume); null for other schedules.</summary>
    [JsonPropertyName("plateauLosses")] public double[]? PlateauLosses { get; init; }
    [JsonPropertyName("worldSize")] public int WorldSize { get; init; }
    /// <summary>The world size the job started with: the learning-rate schedule's reference step is one global batch of it
    /// (<see cref="ScheduleClock"/>). 0 in checkpoints written before it existed (then <see cref="WorldSize"/> is used).</summary>
    [JsonPropertyName("scheduleWorldSize")] public int ScheduleWorldSize { get; init; }
    /// <summary>
    /// The learning rate the next optimizer step uses (the schedule's value). Not read on restore (the schedule is rebuilt
    /// from the position); it is part of the state fingerprint the ranks compare at the start of a generation, so ranks
    /// whose schedules disagree are not taken as holding one state. 0 in checkpoints written before it existed.
    /// </summary>
    [JsonPropertyName("learningRate")] public double LearningRate { get; init; }
}
