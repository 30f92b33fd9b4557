using System.Text.Json.Serialization;

namespace Cluster.Cli.Commands.Bench;

/// <summary>One rank's timing of one message size.</summary>
internal sealed record BenchRankResult(
    [property: JsonPropertyName("rank")] int Rank,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("iterations")] int Iterations,
    [property: JsonPropertyName("median_ms")] double MedianMs,
    [property: JsonPropertyName("min_ms")] double MinMs,
    [property: JsonPropertyName("errors")] long Errors);

/// <summary>One line of `bench allreduce --json`.</summary>
internal sealed record BenchLine(
    [property: JsonPropertyName("op")] string Op,
    [property: JsonPropertyName("reduce")] string Reduce,
    [property: JsonPropertyName("transport")] string Transport,
    [property: JsonPropertyName("ranks")] int Ranks,
    [property: JsonPropertyName("dtype")] string DType,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("iterations")] int Iterations,
    [property: JsonPropertyName("ms")] double Ms,
    [property: JsonPropertyName("min_ms")] double MinMs,
    [property: JsonPropertyName("algbw_gbps")] double AlgbwGbps,
    [property: JsonPropertyName("busbw_gbps")] double BusbwGbps,
    [property: JsonPropertyName("memcpy_gbps")] double MemcpyGbps,
    [property: JsonPropertyName("compressed")] bool Compressed,
    [property: JsonPropertyName("check")] string Check);

[JsonSerializable(typeof(BenchRankResult))]
[JsonSerializable(typeof(BenchLine))]
internal sealed partial class BenchJson : JsonSerializerContext;
