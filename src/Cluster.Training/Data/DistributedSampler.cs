using Cluster.Coordinator.Contracts.Data;

namespace Cluster.Training.Data;

/// <summary>
/// Deterministic, world-size-independent distributed sampler: one rank's view of the job's data plan
/// (<see cref="EpochSequence"/>, shared with the coordinator).
/// <para>Each epoch has one GLOBAL sequence of length <see cref="EpochLength"/>: a permutation of the dataset
/// derived only from (Seed, epoch), or for weighted sampling a with-replacement draw derived from the same, which is
/// consumed exactly once position by position (a sample drawn twice is trained twice, as drawn).</para>
/// <para>Step semantics: with world size W and per-rank batch B, one global step consumes the W·B consecutive
/// positions [p, p + W·B) of the sequence; rank r takes [p + r·B, p + (r+1)·B). The union of a step over all
/// ranks is therefore contiguous, and the <see cref="SamplerCursor"/> (epoch, p) alone says what has been
/// consumed. Restoring the cursor with another world size W' re-partitions the remaining positions [p, L)
/// among W' ranks: every sample of the epoch is still processed exactly once.</para>
/// <para>The last step: with <see cref="DistributedSamplerOptions.DropLast"/> a partial step (fewer than W·B
/// positions left) is dropped; otherwise it is padded by wrapping to the start of the sequence, and the padding
/// (<see cref="ValidInStep"/>) carries no weight: the trainer masks it out of the loss, so no sample is trained twice.</para>
/// Thread-safe for the pure methods (<see cref="TryGetStep"/>, <see cref="Sequence"/>); the stateful cursor
/// (<see cref="TryNextBatch"/>, <see cref="Restore"/>) belongs to one thread.
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

    /// <summary>The current position (stateful use).</summary>
    public SamplerCursor Cursor { get; private set; } = SamplerCursor.Start;

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

    /// <summary>Global steps left from <paramref name="cursor"/> with per-rank batch <paramref name="batchSize"/>.</summary>
    public int StepsRemaining(SamplerCursor cursor, int batchSize)
    {
        ValidateCursor(cursor);
        return EpochSequence.StepsRemaining(cursor.GlobalPosition, batchSize, WorldSize, EpochLength, DropLast);
    }

    /// <summary>
    /// This rank's <paramref name="batchSize"/> dataset indices for the step at <paramref name="cursor"/>, and the
    /// cursor after that step (its position is capped at <see cref="EpochLength"/>). False when the epoch is over.
    /// </summary>
    public bool TryGetStep(SamplerCursor cursor, int batchSize, Span<int> destination, out SamplerCursor next)
    {
        if (StepsRemaining(cursor, batchSize) == 0) { next = cursor; return false; }
        if (destination.Length < batchSize)
            throw new ArgumentException($"Destination holds {destination.Length} indices, batch size is {batchSize}.", nameof(destination));
        ReadOnlySpan<int> seq = Sequence(cursor.Epoch).Span;
        long start = EpochSequence.RankStart(cursor.GlobalPosition, batchSize, Rank, WorldSize);
        for (int j = 0; j < batchSize; j++)
        {
            long p = start + j;
            destination[j] = seq[(int)(p % EpochLength)]; // p >= L only in the padded final step
        }
        next = cursor with { GlobalPosition = EpochSequence.Advance(cursor.GlobalPosition, batchSize, WorldSize, EpochLength) };
        return true;
    }

    /// <summary>
    /// How many of this rank's samples in the step at <paramref name="cursor"/> are real (not wrap-around padding):
    /// <paramref name="batchSize"/> except in a padded final step. Evaluation should count only these.
    /// </summary>
    public int ValidInStep(SamplerCursor cursor, int batchSize)
    {
        ValidateCursor(cursor);
        return EpochSequence.RealCount(EpochSequence.RankStart(cursor.GlobalPosition, batchSize, Rank, WorldSize), batchSize, EpochLength);
    }

    /// <summary>Stateful: start epoch <paramref name="epoch"/> at position 0.</summary>
    public void SetEpoch(int epoch) => Restore(new SamplerCursor(epoch, 0));

    /// <summary>Stateful: this rank's next batch; advances <see cref="Cursor"/> by one global step.</summary>
    public bool TryNextBatch(int batchSize, Span<int> destination)
    {
        if (!TryGetStep(Cursor, batchSize, destination, out var next)) return false;
        Cursor = next;
        return true;
    }

    /// <summary>The world-size-independent state to checkpoint.</summary>
    public SamplerCursor Save() => Cursor;

    /// <summary>Resume from a cursor saved by a sampler of any world size (same dataset size and options).</summary>
    public void Restore(SamplerCursor cursor)
    {
        ValidateCursor(cursor);
        Cursor = cursor;
    }

    /// <summary>True when no step is left in the cursor's epoch.</summary>
    public bool IsEpochComplete(SamplerCursor cursor, int batchSize) => StepsRemaining(cursor, batchSize) == 0;

    private void ValidateCursor(SamplerCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        cursor.Validate();
        if (cursor.GlobalPosition > EpochLength)
            throw new ArgumentOutOfRangeException(nameof(cursor), cursor.GlobalPosition, $"Cursor position {cursor.GlobalPosition} is beyond the epoch length {EpochLength} (was it saved for another dataset?).");
    }
}
