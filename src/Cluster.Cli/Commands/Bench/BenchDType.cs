using Cluster.Collectives;

namespace Cluster.Cli.Commands.Bench;

internal enum BenchDType { Float32, Float64, Float16, BFloat16, Int32, Int64 }

internal static class BenchDTypes
{
    public static BenchDType Parse(string text) => text.ToLowerInvariant() switch
    {
        "float32" or "float" or "f32" => BenchDType.Float32,
        "float64" or "double" or "f64" => BenchDType.Float64,
        "float16" or "half" or "f16" => BenchDType.Float16,
        "bfloat16" or "bf16" => BenchDType.BFloat16,
        "int32" or "int" => BenchDType.Int32,
        "int64" or "long" => BenchDType.Int64,
        _ => throw new UsageException($"--dtype: '{text}' is not one of float32, float64, float16, bfloat16, int32, int64"),
    };

    public static int Size(BenchDType t) => t switch
    {
        BenchDType.Float32 or BenchDType.Int32 => 4,
        BenchDType.Float64 or BenchDType.Int64 => 8,
        _ => 2,
    };

    public static string Name(BenchDType t) => t.ToString().ToLowerInvariant();

    public static ReduceOp ParseOp(string text) => text.ToLowerInvariant() switch
    {
        "sum" => ReduceOp.Sum,
        "avg" or "average" => ReduceOp.Average,
        "min" => ReduceOp.Min,
        "max" => ReduceOp.Max,
        _ => throw new UsageException($"--op: '{text}' is not one of sum, avg, min, max"),
    };
}
