namespace Cluster.Training.Data;

public enum DatasetKind
{
    FashionMnist,
    ImageFolder,
    Csv,
    Synthetic,
}
