using Cluster.Coordinator.Contracts.Data;

namespace Cluster.Training.Data;

/// <summary>A view of selected samples of another dataset (index i maps to <c>Indices[i]</c> of the inner one).</summary>
public sealed class SubsetDataset : IDataset
{
    private readonly IDataset _inner;
    private readonly int[] _indices;

    public SubsetDataset(IDataset inner, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(indices);
        foreach (var i in indices)
        {
            if ((uint)i >= (uint)inner.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"Subset index must be in [0, {inner.Count}).");
        }
        _inner = inner;
        _indices = indices;
    }

    /// <summary>The first <paramref name="count"/> samples (all of them if the dataset is smaller).</summary>
    public static SubsetDataset First(IDataset inner, int count)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Subset size must be positive.");
        return new SubsetDataset(inner, Enumerable.Range(0, Math.Min(count, inner.Count)).ToArray());
    }

    /// <summary>A seeded random subset of <paramref name="count"/> distinct samples, kept in ascending index order.</summary>
    public static SubsetDataset Random(IDataset inner, int count, ulong seed)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Subset size must be positive.");
        var perm = Permutation.Create(inner.Count, seed);
        var chosen = perm.AsSpan(0, Math.Min(count, inner.Count)).ToArray();
        Array.Sort(chosen);
        return new SubsetDataset(inner, chosen);
    }

    public IReadOnlyList<int> Indices => _indices;
    public int Count => _indices.Length;
    public int NumClasses => _inner.NumClasses;
    public SampleShape Shape => _inner.Shape;
    public int Get(int index, Span<float> destination) => _inner.Get(_indices[index], destination);
    public int GetLabel(int index) => _inner.GetLabel(_indices[index]);
}
