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

    /// <summary>The renewals of <paramref name="generation"/> in arrival order, or null when there are none; empties the batch.</summary>
    public (int[] Ranks, DateTimeOffset[] At)? Take(long generation)
    {
        var taken = generation == _generation && _ranks.Count > 0 ? ([.. _ranks], [.. _at]) : ((int[], DateTimeOffset[])?)null;
        Clear(generation);
        return taken;
    }

    private void Clear(long generation)
    {
        _ranks.Clear();
        _at.Clear();
        _generation = generation;
    }
}
