namespace Cluster.Agent.Grains;

/// <summary>Rank 0's summary of a finished epoch.</summary>
[GenerateSerializer, Immutable]
public sealed record EpochSummary(int Epoch, int Epochs, long Step, double TrainLoss, double? TestLoss, double? TestAccuracy);
