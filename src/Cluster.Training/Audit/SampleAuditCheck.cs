using System.Text.Json;

namespace Cluster.Training.Audit;

/// <summary>
/// Reads the audit files of every rank process of a job (<see cref="SampleAudit"/>) and counts, per epoch, how often each
/// sample was trained into the final state. The final state is the result of optimizer steps 1..S, S being the newest
/// step of the last generation that applied any; of the instances of step k (a step redone after a recovery or after a
/// restart from a checkpoint has one per generation that applied it) the final state holds the one of the newest
/// generation: a generation goes on from the newest step its survivors hold (or from a committed checkpoint, whose steps
/// no later generation applies again), so an older instance of k was discarded when k was applied again. Its samples are
/// the union of what every rank of that generation read for it, lost ranks included (they wrote their reads before the
/// all-reduce). Every other step read is discarded (or skipped: a non-finite gradient; its samples are not trained).
/// </summary>
public static class SampleAuditCheck
{
    /// <summary>What the audit shows for one epoch.</summary>
    public sealed record EpochCount(int Epoch, int Trained, int Missing, int Duplicated, int Discarded, int Skipped);

    /// <summary>Checks the epochs <paramref name="epochs"/> of a dataset of <paramref name="datasetSize"/> samples.</summary>
    public static IReadOnlyList<EpochCount> Check(string directory, int datasetSize, IEnumerable<int> epochs)
    {
        var reads = new Dictionary<(long G, int Epoch, long Start), List<int>>();
        var applied = new Dictionary<(long G, int Epoch, long Start), long>(); // the optimizer step it became
        var skippedSteps = new HashSet<(long G, int Epoch, long Start)>();
        foreach (var file in Directory.GetFiles(directory, "*" + SampleAudit.Extension))
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.Length == 0) continue;
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement;
                var key = (e.GetProperty("g").GetInt64(), e.GetProperty("epoch").GetInt32(), e.GetProperty("start").GetInt64());
                switch (e.GetProperty("kind").GetString())
                {
                    case "read":
                        if (!reads.TryGetValue(key, out var ids)) reads[key] = ids = [];
                        ids.AddRange(e.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));
                        break;
                    case "applied":
                        var step = e.GetProperty("step").GetInt64();
                        if (applied.TryGetValue(key, out var other) && other != step)
                            throw new InvalidDataException($"{file}: step {key} of generation {key.Item1} was applied as step {other} and as step {step}");
                        applied[key] = step;
                        break;
                    case "skipped":
                        skippedSteps.Add(key);
                        break;
                    default:
                        throw new InvalidDataException($"{file}: unknown audit line {line}");
                }
            }
        }
        var newest = new Dictionary<long, long>(); // optimizer step -> the newest generation that applied it
        foreach (var ((g, _, _), step) in applied)
            if (!newest.TryGetValue(step, out var n) || g > n) newest[step] = g;
        var lastGeneration = applied.Count == 0 ? 0 : applied.Keys.Max(k => k.G);
        var finalStep = applied.Count == 0 ? 0 : applied.Where(a => a.Key.G == lastGeneration).Max(a => a.Value);
        bool Kept((long G, int Epoch, long Start) key) =>
            applied.TryGetValue(key, out var step) && step <= finalStep && newest[step] == key.G;
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
