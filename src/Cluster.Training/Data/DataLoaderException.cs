namespace Cluster.Training.Data;

/// <summary>A loader worker failed to assemble a batch; the inner exception says why.</summary>
public sealed class DataLoaderException : Exception
{
    public DataLoaderException(string message, Exception inner) : base(message, inner) { }
}
