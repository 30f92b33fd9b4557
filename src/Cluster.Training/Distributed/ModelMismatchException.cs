namespace Cluster.Training.Distributed;

/// <summary>Ranks built different models (parameter names, dtypes or shapes differ).</summary>
public sealed class ModelMismatchException(string message) : Exception(message);
