namespace Cluster.Training.Data;

public sealed record DistributedSamplerOptions
{
    /// <summary>Shuffle each epoch with a permutation derived from (Seed, epoch). False: identity order.</summary>
    public bool Shuffle { get; init; } = true;

    public ulong Seed { get; init; }

    /// <summary>
    /// True: an epoch's final step that holds fewer positions than the global batch is dropped.
    /// False (PyTorch's default): that step holds the positions left, split over the ranks the same way
    /// (<see cref="Coordinator.Contracts.Data.BatchPlan"/>).
    /// </summary>
    public bool DropLast { get; init; }

    /// <summary>Optional per-sample weights: each epoch draws <see cref="NumSamples"/> indices with replacement.</summary>
    public IReadOnlyList<double>? Weights { get; init; }

    /// <summary>Epoch length for weighted sampling (default: dataset size). Ignored without weights.</summary>
    public int? NumSamples { get; init; }

    public void Validate(int datasetSize)
    {
        if (datasetSize <= 0) throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "The dataset is empty.");
        if (Weights is null)
        {
            if (NumSamples is not null) throw new ArgumentException("NumSamples is only valid together with Weights.", nameof(NumSamples));
            return;
        }
        if (Weights.Count != datasetSize)
            throw new ArgumentException($"Weights has {Weights.Count} entries, the dataset has {datasetSize} samples.", nameof(Weights));
        double sum = 0;
        for (int i = 0; i < Weights.Count; i++)
        {
            double w = Weights[i];
            if (!double.IsFinite(w) || w < 0) throw new ArgumentException($"Weight {i} is {w}; weights must be finite and non-negative.", nameof(Weights));
            sum += w;
        }
        if (!(sum > 0)) throw new ArgumentException("Weights sum to zero.", nameof(Weights));
        if (NumSamples is <= 0) throw new ArgumentOutOfRangeException(nameof(NumSamples), NumSamples, "NumSamples must be positive.");
    }
}
