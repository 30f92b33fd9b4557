namespace Cluster.Training.Data;

internal static class DatasetGuard
{
    public static void CheckGet(IDataset dataset, int index, Span<float> destination)
    {
        if ((uint)index >= (uint)dataset.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index must be in [0, {dataset.Count}).");
        if (destination.Length != dataset.Shape.Elements)
            throw new ArgumentException($"Destination has {destination.Length} elements, the sample shape {dataset.Shape} needs {dataset.Shape.Elements}.", nameof(destination));
    }
}
