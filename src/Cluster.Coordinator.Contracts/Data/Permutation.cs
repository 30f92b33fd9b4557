namespace Cluster.Coordinator.Contracts.Data;

/// <summary>Seeded Fisher–Yates shuffle on <see cref="SplitMix64"/>: the same (n, seed) gives the same permutation forever.</summary>
public static class Permutation
{
    public static int[] Create(int n, ulong seed)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be non-negative.");
        var result = new int[n];
        for (int i = 0; i < n; i++) result[i] = i;
        Shuffle(result, seed);
        return result;
    }

    public static void Shuffle(Span<int> values, ulong seed)
    {
        var rng = new SplitMix64(seed);
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }
}
