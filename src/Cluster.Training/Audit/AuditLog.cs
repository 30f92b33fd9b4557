using System.Text.Json;

namespace Cluster.Training.Audit;

/// <summary>
/// The audit files of every rank process of a job (<see cref="SampleAudit"/>), read back, and the rule that says which
/// steps are in the final state. The final state is the result of optimizer steps 1..S, S being the newest step of the
/// last generation that applied any; of the instances of step k (a step redone after a recovery or after a restart from a
/// checkpoint has one per generation that applied it) the final state holds the one of the newest generation: a
/// generation goes on from the newest step its survivors hold (or from a committed checkpoint, whose steps no later
/// generation applies again), so an older instance of k was discarded when k was applied again.
/// </summary>
public sealed class AuditLog
{
    /// <summary>A step as the audit keys it: the generation that read it, its epoch and the global position where it starts.</summary>
    public readonly record struct StepKey(long Generation, int Epoch, long Start);

    /// <summary>One micro-batch read by rank <paramref name="Rank"/> of <paramref name="World"/> (0 in audits written before the world was recorded).</summary>
    public sealed record MicroBatchRead(int Rank, int World, int[] Ids);

    private readonly Dictionary<StepKey, List<MicroBatchRead>> reads = [];
    private readonly Dictionary<StepKey, long> applied = []; // the optimizer step it became
    private readonly HashSet<StepKey> skipped = [];
    private readonly Dictionary<long, long> newest = []; // optimizer step -> the newest generation that applied it

    /// <summary>Every micro-batch read, by step, in each rank's reading order (every rank of a generation, lost ranks included).</summary>
    public IReadOnlyDictionary<StepKey, List<MicroBatchRead>> Reads => reads;

    /// <summary>The newest step of the last generation that applied any (0 when none was applied).</summary>
    public long FinalStep { get; private set; }

    /// <summary>Reads every audit file under <paramref name="directory"/>.</summary>
    public static AuditLog Load(string directory)
    {
        var log = new AuditLog();
        foreach (var file in Directory.GetFiles(directory, "*" + SampleAudit.Extension).Order(StringComparer.Ordinal))
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.Length == 0) continue;
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement;
                var key = new StepKey(e.GetProperty("g").GetInt64(), e.GetProperty("epoch").GetInt32(), e.GetProperty("start").GetInt64());
                switch (e.GetProperty("kind").GetString())
                {
                    case "read":
                        if (!log.reads.TryGetValue(key, out var list)) log.reads[key] = list = [];
                        var world = e.TryGetProperty("world", out var w) ? w.GetInt32() : 0;
                        list.Add(new MicroBatchRead(e.GetProperty("rank").GetInt32(), world, [.. e.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())]));
                        break;
                    case "applied":
                        var step = e.GetProperty("step").GetInt64();
                        if (log.applied.TryGetValue(key, out var other) && other != step)
                            throw new InvalidDataException($"{file}: step {key} of generation {key.Generation} was applied as step {other} and as step {step}");
                        log.applied[key] = step;
                        break;
                    case "skipped":
                        log.skipped.Add(key);
                        break;
                    default:
                        throw new InvalidDataException($"{file}: unknown audit line {line}");
                }
            }
        }
        foreach (var (key, step) in log.applied)
            if (!log.newest.TryGetValue(step, out var n) || key.Generation > n) log.newest[step] = key.Generation;
        var last = log.applied.Count == 0 ? 0 : log.applied.Keys.Max(k => k.Generation);
        log.FinalStep = log.applied.Count == 0 ? 0 : log.applied.Where(a => a.Key.Generation == last).Max(a => a.Value);
        return log;
    }

    /// <summary>Whether the step read as <paramref name="key"/> is in the final state.</summary>
    public bool IsKept(StepKey key) => applied.TryGetValue(key, out var step) && step <= FinalStep && newest[step] == key.Generation;

    /// <summary>Whether the step read as <paramref name="key"/> was skipped (a non-finite gradient).</summary>
    public bool IsSkipped(StepKey key) => skipped.Contains(key);

    /// <summary>The steps in the final state, in optimizer-step order (step number, key).</summary>
    public IReadOnlyList<(long Step, StepKey Key)> KeptSteps() =>
        [.. applied.Where(a => IsKept(a.Key)).Select(a => (a.Value, a.Key)).OrderBy(a => a.Value)];
}
