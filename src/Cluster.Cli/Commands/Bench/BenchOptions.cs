using System.CommandLine;

namespace Cluster.Cli.Commands.Bench;

/// <summary>The options shared by `bench allreduce` and its hidden per-rank worker.</summary>
internal sealed class BenchOptions
{
    public Option<int> Ranks { get; } = new("--ranks") { Description = "number of rank processes", DefaultValueFactory = _ => 2 };
    public Option<string> Sizes { get; } = new("--sizes") { Description = "message sizes: 4K,256K,4M,16M,64M or byte counts", DefaultValueFactory = _ => "4K,256K,4M,16M,64M" };
    public Option<string> Transport { get; } = new("--transport") { Description = "tcp | shm | auto | mixed", DefaultValueFactory = _ => "tcp" };
    public Option<string> DType { get; } = new("--dtype") { Description = "float32 | float64 | float16 | bfloat16 | int32 | int64", DefaultValueFactory = _ => "float32" };
    public Option<string> Op { get; } = new("--op") { Description = "sum | avg | min | max", DefaultValueFactory = _ => "sum" };
    public Option<int?> Iterations { get; } = new("--iterations") { Description = "timed iterations per size (default: ~1 GiB of traffic, 5..1000)" };
    public Option<bool> Compress { get; } = new("--compress") { Description = "send float32 as bfloat16 on the wire" };
    public Option<int> Timeout { get; } = new("--timeout") { Description = "deadline in seconds for the whole run", DefaultValueFactory = _ => 600 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Ranks, Sizes, Transport, DType, Op, Iterations, Compress, Timeout }) command.Options.Add(option);
    }

    public BenchSettings Read(ParseResult parseResult)
    {
        var ranks = parseResult.GetValue(Ranks);
        if (ranks is < 1 or > 64) throw new UsageException($"--ranks must be between 1 and 64 (got {ranks})");
        var dtype = BenchDTypes.Parse(parseResult.GetValue(DType)!);
        var iterations = parseResult.GetValue(Iterations);
        if (iterations is < 1) throw new UsageException("--iterations must be at least 1");
        var timeout = parseResult.GetValue(Timeout);
        if (timeout < 1) throw new UsageException("--timeout must be at least 1 second");
        var compress = parseResult.GetValue(Compress);
        if (compress && dtype != BenchDType.Float32) throw new UsageException("--compress applies to float32 only");
        return new BenchSettings(ranks, SizeList.Parse(parseResult.GetValue(Sizes)!, BenchDTypes.Size(dtype)),
            BenchSettings.ValidateTransport(parseResult.GetValue(Transport)!), dtype, BenchDTypes.ParseOp(parseResult.GetValue(Op)!),
            iterations, compress, TimeSpan.FromSeconds(timeout));
    }
}
