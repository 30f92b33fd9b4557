namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A committed checkpoint: written atomically as manifest.json in <see cref="Directory"/> once every rank of
/// <see cref="Generation"/> acknowledged (or, without a coordinator, once rank 0's files are durable). Only checkpoints
/// with a manifest are offered for restore. <see cref="Lineage"/> and <see cref="SpecFields"/> tie it to the spec that
/// wrote it, so a re-run of the same spec finds it again and a different spec is refused naming the field;
/// <see cref="Checksum"/> is the SHA-256 of the manifest's own canonical text (see <c>ManifestChecksum</c>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointManifest(
    string JobId,
    long CheckpointId,
    long Generation,
    long Step,
    int WorldSize,
    EpochPlan EpochPlan,
    string Directory,
    DateTimeOffset CommittedAt,
    IReadOnlyList<RankCheckpointFiles> Ranks)
{
    /// <summary>On-disk format version.</summary>
    [Id(9)] public int FormatVersion { get; init; } = 2;

    /// <summary>Spec name the checkpoint belongs to.</summary>
    [Id(10)] public string Lineage { get; init; } = "";

    /// <summary>The spec sections a resume must match (field path → canonical YAML), see <c>CheckpointLineage.FieldsOf</c>.</summary>
    [Id(11)] public IReadOnlyList<SpecField> SpecFields { get; init; } = [];

    /// <summary>Written by the last save of a finished run: re-running the spec has nothing left to do.</summary>
    [Id(12)] public bool Final { get; init; }

    /// <summary>SHA-256 of the canonical text of every other field; set by <c>CheckpointFiles.Commit</c>.</summary>
    [Id(13)] public string Checksum { get; init; } = "";

    /// <summary>The file <paramref name="name"/> of rank <paramref name="rank"/>, or null.</summary>
    public CheckpointFile? FileOf(int rank, string name) =>
        Ranks.FirstOrDefault(r => r.Rank == rank)?.Files.FirstOrDefault(f => f.Name == name);
}

/// <summary>One spec field a checkpoint depends on, as canonical YAML.</summary>
[GenerateSerializer, Immutable]
public sealed record SpecField(string Path, string Value);
