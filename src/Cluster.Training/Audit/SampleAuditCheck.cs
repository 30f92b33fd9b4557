using System.Text.Json;

namespace Cluster.Training.Audit;

/// <summary>
/// Reads the audit files of every rank process of a job (<see cref="SampleAudit"/>) and counts, per epoch, how often each
/// sample was trained into the final state. A step of generation g counts when a rank applied it and that rank's state
/// went on: it wrote something in a later generation (a survivor: the state sync at the next generation's start gives
/// every rank the state of the newest step), or g is the last generation. Its samples are the union of what every rank of
/// g read for it, lost ranks included (they wrote their reads before the all-reduce). Steps read and never applied, or
/// applied only by ranks that were lost with that state, are discarded.
/// </summary>
public static class SampleAuditCheck
{
    /// <summary>What the audit shows for one epoch.</summary>
    public sealed record EpochCount(int Epoch, int Trained, int Missing, int Duplicated, int Discarded, int Skipped);

    /// <summary>Checks the epochs <paramref name="epochs"/> of a dataset of <paramref name="datasetSize"/> samples.</summary>
    public static IReadOnlyList<EpochCount> Check(string directory, int datasetSize, IEnumerable<int> epochs)
    {
        var reads = new Dictionary<(long G, int Epoch, long Start), List<int>>();
        var applied = new Dictionary<(long G, int Epoch, long Start), List<int>>(); // the files that applied it
        var skippedSteps = new HashSet<(long G, int Epoch, long Start)>();
        var lastGeneration = new List<long>(); // per file
        foreach (var file in Directory.GetFiles(directory, "*" + SampleAudit.Extension))
        {
            var index = lastGeneration.Count;
            long last = 0;
            foreach (var line in File.ReadLines(file))
            {
                if (line.Length == 0) continue;
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement;
                var key = (e.GetProperty("g").GetInt64(), e.GetProperty("epoch").GetInt32(), e.GetProperty("start").GetInt64());
                last = Math.Max(last, key.Item1);
                switch (e.GetProperty("kind").GetString())
                {
                    case "read":
                        if (!reads.TryGetValue(key, out var ids)) reads[key] = ids = [];
                        ids.AddRange(e.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));
                        break;
                    case "applied":
                        if (!applied.TryGetValue(key, out var by)) applied[key] = by = [];
                        by.Add(index);
                        break;
                    case "skipped":
                        skippedSteps.Add(key);
                        break;
                    default:
                        throw new InvalidDataException($"{file}: unknown audit line {line}");
                }
            }
            lastGeneration.Add(last);
        }
        var final = lastGeneration.Count == 0 ? 0 : lastGeneration.Max();
        bool Kept((long G, int Epoch, long Start) key) =>
            applied.TryGetValue(key, out var by) && (key.G == final || by.Any(f => lastGeneration[f] > key.G));
        var result = new List<EpochCount>();
        foreach (var epoch in epochs)
        {
            var counts = new int[datasetSize];
            int discarded = 0, skipped = 0;
            foreach (var (key, ids) in reads.Where(r => r.Key.Epoch == epoch))
            {
                if (Kept(key)) foreach (var id in ids) counts[id]++;
                else if (skippedSteps.Contains(key)) skipped++;
                else discarded++;
            }
            result.Add(new EpochCount(epoch, counts.Count(c => c == 1), counts.Count(c => c == 0), counts.Count(c => c > 1), discarded, skipped));
        }
        return result;
    }
}
