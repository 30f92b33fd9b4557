using System.Diagnostics;

namespace Cluster.Training.FaultyRank;

/// <summary>
/// Where this rank process kills itself. <c>FAULTY_RANK_PLAN</c> lists faults as <c>local:phase[@n]</c> separated by
/// <c>;</c>; the processes of one local rank take them in order, one each (a replacement takes the next), counted in
/// <c>FAULTY_RANK_MARKERS/local-L</c>. Phases: <c>start</c> (before the rank attaches to its agent), <c>allreduce@n</c> (inside the n-th gradient all-reduce),
/// <c>vote@n</c> (after the n-th gradient all-reduce returned: every rank knows the step's vote, this one has not applied
/// the step), <c>transfer</c> (inside the first large broadcast: the state sent to a replacement), <c>checkpoint</c>
/// (when a file appears in an uncommitted checkpoint under <c>FAULTY_RANK_CHECKPOINTS</c>).
/// </summary>
internal sealed class FaultPlan(string phase, int nth, int localRank, string markers, string? checkpoints, TextWriter output)
{
    private int _fired;

    public string Phase { get; } = phase;
    public int Nth { get; } = nth;

    /// <summary>The fault this process takes, or null (none planned, or all taken by earlier processes).</summary>
    public static FaultPlan? Arm(Func<string, string?> env, int localRank, TextWriter output)
    {
        var plan = env("FAULTY_RANK_PLAN");
        var markers = env("FAULTY_RANK_MARKERS");
        if (string.IsNullOrEmpty(plan) || string.IsNullOrEmpty(markers)) return null;
        var mine = plan.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split(':', 2))
            .Where(p => int.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture) == localRank)
            .Select(p => p[1])
            .ToList();
        Directory.CreateDirectory(markers);
        var file = Path.Combine(markers, $"local-{localRank}");
        var taken = File.Exists(file) ? File.ReadAllLines(file).Length : 0;
        if (taken >= mine.Count) return null;
        var entry = mine[taken].Split('@');
        File.AppendAllText(file, entry[0] + Environment.NewLine); // taken by this process, fired or not
        var nth = entry.Length > 1 ? int.Parse(entry[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
        return new FaultPlan(entry[0], nth, localRank, markers, env("FAULTY_RANK_CHECKPOINTS"), output);
    }

    /// <summary>Says where, then SIGKILLs this process (exit 137, as `kill -9` from outside).</summary>
    public void Fire(string where)
    {
        if (Interlocked.Exchange(ref _fired, 1) == 1) return;
        output.WriteLine($"fault: local rank {localRank} killed itself during {Phase} ({where})");
        output.Flush();
        File.AppendAllText(Path.Combine(markers, $"fired-{localRank}"), $"{Phase} {where}{Environment.NewLine}");
        Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>For <c>checkpoint</c>: fires when a file appears in a checkpoint directory that has no manifest yet.</summary>
    public void WatchCheckpoints()
    {
        if (Phase != "checkpoint" || string.IsNullOrEmpty(checkpoints)) return;
        Directory.CreateDirectory(checkpoints);
        var watcher = new FileSystemWatcher(checkpoints) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName };
        watcher.Created += (_, e) =>
        {
            var dir = Path.GetDirectoryName(e.FullPath)!;
            if (!Path.GetFileName(dir).StartsWith("ckpt-", StringComparison.Ordinal) || File.Exists(Path.Combine(dir, "manifest.json"))) return;
            if (Interlocked.Increment(ref _seen) < Nth) return;
            Fire($"{Path.GetFileName(dir)}/{Path.GetFileName(e.FullPath)} written, no manifest");
        };
        watcher.EnableRaisingEvents = true;
        GC.KeepAlive(_watcher = watcher);
    }

    private int _seen;
    private FileSystemWatcher? _watcher;
}
