namespace Cluster.Training.Audit;

/// <summary>
/// Counts, per epoch, how often each sample was trained into the final state (<see cref="AuditLog"/> says which steps
/// are in it). A kept step's samples are the union of what every rank of its generation read for it, lost ranks included
/// (they wrote their reads before the all-reduce). Every other step read is discarded (or skipped: a non-finite gradient;
/// its samples are not trained).
/// </summary>
public static class SampleAuditCheck
{
    /// <summary>What the audit shows for one epoch.</summary>
    public sealed record EpochCount(int Epoch, int Trained, int Missing, int Duplicated, int Discarded, int Skipped);

    /// <summary>Checks the epochs <paramref name="epochs"/> of a dataset of <paramref name="datasetSize"/> samples.</summary>
    public static IReadOnlyList<EpochCount> Check(string directory, int datasetSize, IEnumerable<int> epochs) =>
        Check(AuditLog.Load(directory), datasetSize, epochs);

    /// <summary>Checks the epochs <paramref name="epochs"/> of a dataset of <paramref name="datasetSize"/> samples in an audit already read.</summary>
    public static IReadOnlyList<EpochCount> Check(AuditLog log, int datasetSize, IEnumerable<int> epochs)
    {
        ArgumentNullException.ThrowIfNull(log);
        var result = new List<EpochCount>();
        foreach (var epoch in epochs)
        {
            var counts = new int[datasetSize];
            int discarded = 0, skipped = 0;
            foreach (var (key, reads) in log.Reads.Where(r => r.Key.Epoch == epoch))
            {
                if (log.IsKept(key)) foreach (var read in reads) foreach (var id in read.Ids) counts[id]++;
                else if (log.IsSkipped(key)) skipped++;
                else discarded++;
            }
            result.Add(new EpochCount(epoch, counts.Count(c => c == 1), counts.Count(c => c == 0), counts.Count(c => c > 1), discarded, skipped));
        }
        return result;
    }
}
