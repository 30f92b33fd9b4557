namespace Cluster.Training.Engine;

/// <summary>More non-finite losses/gradients than the job's nanTolerance allows.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
