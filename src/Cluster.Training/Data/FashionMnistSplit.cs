namespace Cluster.Training.Data;

public enum FashionMnistSplit
{
    /// <summary>60 000 training samples (train-*-ubyte.gz).</summary>
    Train,
    /// <summary>10 000 test samples (t10k-*-ubyte.gz).</summary>
    Test,
}
