namespace Cluster.Agent.Grains;

/// <summary>
/// A piece of a rank log: <paramref name="Data"/> from the asked offset, the offset to ask next, and why nothing came
/// (<paramref name="Missing"/>: no such log on that node, or a refused request).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LogChunk([property: Id(0)] byte[] Data, [property: Id(1)] long Next, [property: Id(2)] string? Missing = null)
{
    /// <summary>The most one call returns.</summary>
    public const int MaxBytes = 1 << 20;
}
