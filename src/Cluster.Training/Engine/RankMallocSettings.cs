namespace Cluster.Training.Engine;

/// <summary>
/// glibc malloc settings for rank processes, set by the launchers in the child's environment (glibc reads them once,
/// at process start) unless the user's environment already sets them.
/// <para>
/// Why: a training step allocates and frees tens of megabytes of tensors. With glibc's defaults the freed top of the heap
/// is returned to the kernel (trim) and per-thread arenas give back whole 64 MB heaps, so the next step takes the same
/// memory again as fresh pages: measured 30–100 k page faults per second per rank and 25–70 % of a core in the kernel,
/// for the whole first epoch (glibc raises its thresholds only after a large block is freed, which the first evaluation
/// pass happens to do). The training loop runs on thread-pool threads, so several arenas are involved.
/// One arena, the largest mmap threshold glibc accepts (32 MiB) and a 1 GiB trim threshold keep that memory in the process:
/// with them the first epoch of the CNN job ran as fast as the later ones (docs/benchmarks.md, "First-epoch slowness").
/// </para>
/// </summary>
public static class RankMallocSettings
{
    /// <summary>Variable → value; see the class remarks.</summary>
    public static IReadOnlyDictionary<string, string> Defaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["MALLOC_ARENA_MAX"] = "1",
        ["MALLOC_MMAP_THRESHOLD_"] = "33554432",
        ["MALLOC_TRIM_THRESHOLD_"] = "1073741824",
    };

    /// <summary>This process's values of the variables, e.g. "MALLOC_ARENA_MAX=1 ...", "unset" where not set.</summary>
    public static string InEffect() =>
        string.Join(' ', Defaults.Keys.Select(name => $"{name}={Environment.GetEnvironmentVariable(name) ?? "unset"}"));

    /// <summary>Adds each default to a child's environment unless it is already there (a user's setting wins).</summary>
    public static void ApplyTo(IDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        foreach (var (name, value) in Defaults)
        {
            if (!environment.TryGetValue(name, out var existing) || string.IsNullOrEmpty(existing)) environment[name] = value;
        }
    }
}
