using Cluster.Coordinator.Contracts.Data;

namespace Cluster.Training.Data;

/// <summary>
/// Deterministic, world-size-independent distributed sampler: one rank's view of the job's data plan
/// (<see cref="EpochSequence"/>, shared with the coordinator).
/// <para>Each epoch has one GLOBAL sequence of length <see cref="EpochLength"/>: a permutation of the dataset
/// derived only from (Seed, epoch), or for weighted sampling a with-replacement draw derived from the same, which is
/// consumed exactly once position by position (a sample drawn twice is trained twice, as drawn).</para>
/// <para>Step semantics (<see cref="BatchPlan"/>): one optimizer step consumes the G consecutive positions [p, p + G) of
/// the sequence, split into micro-batches and each micro-batch over the ranks in consecutive blocks. The union of a step
/// over all ranks is therefore contiguous, and the <see cref="SamplerCursor"/> (epoch, p) alone says what has been
/// consumed. Going on from the cursor with another world size W' re-partitions the remaining positions [p, L) among W'
/// ranks: every sample of the epoch is still processed exactly once.</para>
/// <para>The last step of an epoch holds the positions left (fewer than G); with
/// <see cref="DistributedSamplerOptions.DropLast"/> it is dropped. Padding (a rank with no position in a micro-batch gets
/// one repeated position) carries no weight: the trainer masks it out of the loss, so no sample is trained twice.</para>
/// Thread-safe.
/// </summary>
public sealed class DistributedSampler
{
    private readonly DistributedSamplerOptions _options;
    private readonly double[]? _cumulative;
    private readonly object _cacheLock = new();
    private int _cachedEpoch = -1;
    private int[] _cached = [];

    public DistributedSampler(int datasetSize, DistributedSamplerOptions options, int worldSize, int rank)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(datasetSize);
        if (worldSize <= 0) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "worldSize must be positive.");
        if ((uint)rank >= (uint)worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize}).");
        _options = options;
        DatasetSize = datasetSize;
        WorldSize = worldSize;
        Rank = rank;
        if (options.Weights is { } w)
        {
            _cumulative = new double[w.Count];
            double sum = 0;
            for (int i = 0; i < w.Count; i++) { sum += w[i]; _cumulative[i] = sum; }
            EpochLength = options.NumSamples ?? datasetSize;
        }
        else
        {
            EpochLength = datasetSize;
        }
    }

    public int DatasetSize { get; }
    public int WorldSize { get; }
    public int Rank { get; }
    public bool DropLast => _options.DropLast;

    /// <summary>Length L of every epoch's global sequence.</summary>
    public int EpochLength { get; }

    /// <summary>The global sequence of <paramref name="epoch"/> (cached; do not modify).</summary>
    public ReadOnlyMemory<int> Sequence(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must be non-negative.");
        lock (_cacheLock)
        {
            if (_cachedEpoch != epoch)
            {
                _cached = BuildSequence(epoch);
                _cachedEpoch = epoch;
            }
            return _cached;
        }
    }

    private int[] BuildSequence(int epoch) =>
        _cumulative is not null ? EpochSequence.Weighted(_options.Seed, epoch, _cumulative, EpochLength)
        : _options.Shuffle ? EpochSequence.Shuffled(_options.Seed, epoch, EpochLength)
        : EpochSequence.InOrder(EpochLength);

    /// <summary>
    /// The step plan of this world: steps of <paramref name="globalBatch"/> positions over all ranks, at most
    /// <paramref name="maxPerRank"/> samples per rank and micro-batch (see <see cref="BatchPlan"/>).
    /// </summary>
    public BatchPlan Plan(int globalBatch, int maxPerRank) => new(globalBatch, maxPerRank, WorldSize, DropLast);

    /// <summary>This rank's micro-batches of <paramref name="plan"/> from <paramref name="cursor"/> to the end of its epoch.</summary>
    public IReadOnlyList<MicroBatch> MicroBatches(BatchPlan plan, SamplerCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ValidateCursor(cursor);
        if (plan.World != WorldSize || plan.DropLast != DropLast)
            throw new ArgumentException($"The plan is for {plan.World} rank(s), drop-last {plan.DropLast}; this sampler for {WorldSize}, drop-last {DropLast}.", nameof(plan));
        return plan.MicroBatches(cursor.GlobalPosition, EpochLength, Rank);
    }

    /// <summary>The dataset indices of this rank's share of <paramref name="microBatch"/> of <paramref name="epoch"/> (padding repeats real samples).</summary>
    public void Fill(int epoch, MicroBatch microBatch, Span<int> destination)
    {
        if (destination.Length < microBatch.RankCount)
            throw new ArgumentException($"Destination holds {destination.Length} indices, the micro-batch has {microBatch.RankCount} for rank {Rank}.", nameof(destination));
        ReadOnlySpan<int> seq = Sequence(epoch).Span;
        for (var j = 0; j < microBatch.RankCount; j++) destination[j] = seq[(int)((microBatch.RankStart + j) % EpochLength)];
    }

    private void ValidateCursor(SamplerCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        cursor.Validate();
        if (cursor.GlobalPosition > EpochLength)
            throw new ArgumentOutOfRangeException(nameof(cursor), cursor.GlobalPosition, $"Cursor position {cursor.GlobalPosition} is beyond the epoch length {EpochLength} (was it saved for another dataset?).");
    }
}
