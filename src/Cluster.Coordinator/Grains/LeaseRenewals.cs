namespace Cluster.Coordinator.Grains;

/// <summary>
/// Lease renewals that node beats brought since the last tick, with their arrival times, for one generation: the job
/// grain applies them as one <see cref="Decisions.LivenessEvent.Renew"/> right before the tick checks for lapses (one
/// pass over the lease table per tick instead of one per beat). Renewals of another generation are dropped.
/// </summary>
internal sealed class LeaseRenewals
{
    private readonly List<int> _ranks = [];
    private readonly List<DateTimeOffset> _at = [];
    private long _generation = -1;

    public void Add(long generation, IEnumerable<int> ranks, DateTimeOffset at)
    {
        if (generation != _generation) Clear(generation);
        foreach (var rank in ranks)
        {
            _ranks.Add(rank);
            _at.Add(at);
        }
    }

    /// <summary>
    /// Hands the renewals of <paramref name="generation"/>, in arrival order, to <paramref name="apply"/> (not when there
    /// are none or they are of another generation) and empties the batch. The lists are the batch's own (no copy: at
    /// 8,000 ranks a copy of the times would be a large-object allocation every tick); <paramref name="apply"/> must not keep them.
    /// </summary>
    public void Flush(long generation, Action<IReadOnlyList<int>, IReadOnlyList<DateTimeOffset>> apply)
    {
        if (generation == _generation && _ranks.Count > 0) apply(_ranks, _at);
        Clear(generation);
    }

    private void Clear(long generation)
    {
        _ranks.Clear();
        _at.Clear();
        _generation = generation;
    }
}
