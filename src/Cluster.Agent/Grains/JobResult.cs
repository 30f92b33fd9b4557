namespace Cluster.Agent.Grains;

/// <summary>Rank 0's final training result (the `cluster run --json` summary).</summary>
[GenerateSerializer, Immutable]
public sealed record JobResult(
    string Status,
    int Epochs,
    long Steps,
    int SkippedSteps,
    double TrainLoss,
    double? TestAccuracy,
    double? TestLoss,
    double? TestMacroF1,
    double SamplesPerSecond,
    double WallSeconds,
    int WorldSize);
