namespace Cluster.Abstractions;

/// <summary>
/// What changes when the world size changes (a rank lost, a replacement or a new rank admitted). <see cref="Batch"/>
/// <c>global</c> (the default): the global batch (<see cref="TrainingSpec.GlobalBatch"/>, or batch size × accumulation ×
/// the world size the job started with) stays the same; it is split over the ranks, and a rank takes more
/// micro-batches (gradient accumulation) when fewer ranks remain, never more than <see cref="TrainingSpec.BatchSize"/>
/// samples at once. <c>per-rank</c>: each rank keeps batch size × accumulation per step, so the global batch follows the
/// world size, and the learning rate scales linearly with it (lr × world / the starting world size).
/// </summary>
public sealed class ScalingSpec
{
    public static readonly IReadOnlyList<string> Batches = ["global", "per-rank"];

    public string Batch { get; set; } = "global";

    /// <summary>True for <c>per-rank</c> scaling (a method, so the spec's YAML does not carry it).</summary>
    public bool IsPerRank() => Batch == "per-rank";

    internal void Validate(string path, List<JobSpecError> errors) => SpecChecks.OneOf($"{path}.batch", Batch, Batches, errors);
}
