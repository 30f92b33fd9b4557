using System.Text.Json.Serialization;

namespace Cluster.Cli.Commands.Bench;

[JsonSerializable(typeof(BenchStepSummary))]
internal sealed partial class BenchStepJson : JsonSerializerContext;
