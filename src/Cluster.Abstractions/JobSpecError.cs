namespace Cluster.Abstractions;

/// <summary>One problem in a job spec: <paramref name="Path"/> is the dotted field path (e.g. training.optimizer.lr);
/// <paramref name="Line"/> is the 1-based YAML line when known.</summary>
public sealed record JobSpecError(string Path, string Message, int? Line = null)
{
    public override string ToString() => Line is { } l ? $"line {l}: {Path}: {Message}" : $"{Path}: {Message}";
}
