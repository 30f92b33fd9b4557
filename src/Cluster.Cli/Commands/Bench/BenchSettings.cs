using Cluster.Collectives;

namespace Cluster.Cli.Commands.Bench;

/// <summary>What every rank of an all-reduce benchmark runs. Transport "mixed" gives ranks alternate
/// host identities (ranks 0,1 on host a; 2,3 on host b; ...) so shared memory and TCP are used together.</summary>
internal sealed record BenchSettings(
    int Ranks,
    IReadOnlyList<long> Sizes,
    string Transport,
    BenchDType DType,
    ReduceOp Op,
    int? Iterations,
    bool Compress,
    TimeSpan Timeout)
{
    public TransportKind TransportKind => Transport switch
    {
        "tcp" => TransportKind.Tcp,
        "shm" => TransportKind.Shm,
        _ => TransportKind.Auto,
    };

    public string HostIdOf(int rank) => Transport == "mixed" ? $"bench-host-{rank / 2}" : "bench-host";

    /// <summary>Iterations for one size: the user's count, else about 1 GiB of traffic, clamped to [5, 1000].</summary>
    public int IterationsFor(long bytes) => Iterations ?? (int)Math.Clamp((1L << 30) / Math.Max(bytes, 1), 5, 1000);

    public static string ValidateTransport(string value) => value switch
    {
        "tcp" or "shm" or "auto" or "mixed" => value,
        _ => throw new UsageException($"--transport: '{value}' is not one of tcp, shm, auto, mixed"),
    };

    public IEnumerable<string> ToWorkerArguments(int rank)
    {
        yield return "bench"; yield return "allreduce-worker";
        yield return "--rank"; yield return rank.ToString(System.Globalization.CultureInfo.InvariantCulture);
        yield return "--ranks"; yield return Ranks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        yield return "--sizes"; yield return string.Join(',', Sizes);
        yield return "--transport"; yield return Transport;
        yield return "--dtype"; yield return BenchDTypes.Name(DType);
        yield return "--op"; yield return Op.ToString().ToLowerInvariant();
        if (Iterations is { } k) { yield return "--iterations"; yield return k.ToString(System.Globalization.CultureInfo.InvariantCulture); }
        if (Compress) yield return "--compress";
        yield return "--timeout"; yield return ((int)Timeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
