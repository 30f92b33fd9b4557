using System.Globalization;
using Cluster.Abstractions;

namespace Cluster.Coordinator.Contracts.Checkpoints;

/// <summary>
/// Finds a spec's checkpoints again from the manifests on disk: they live under <c>checkpoint.dir/name/</c>, so a
/// re-run of the same spec resumes from its newest committed checkpoint whatever its job id, and a spec whose model,
/// optimizer or data differ is refused naming the field.
/// </summary>
public static class CheckpointLineage
{
    /// <summary>Lineage root of a spec: <c>checkpointDir/specName</c>.</summary>
    public static string RootOf(string checkpointDirectory, string specName) => Path.Combine(checkpointDirectory, specName);

    /// <summary>The spec sections a checkpoint depends on (what it restores must have been trained by the same setup).</summary>
    public static IReadOnlyList<SpecField> FieldsOf(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var t = spec.Training;
        return
        [
            new("training.model", JobSpecLoader.SectionYaml(t.Model)),
            new("training.optimizer", JobSpecLoader.SectionYaml(t.Optimizer)),
            new("training.dataset", JobSpecLoader.SectionYaml(t.Dataset)),
            new("training.seed", t.Seed.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>Null when <paramref name="fields"/> match the checkpoint's; otherwise a sentence naming the first field that differs.</summary>
    public static string? Mismatch(CheckpointManifest manifest, IReadOnlyList<SpecField> fields)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        foreach (var field in fields)
        {
            var saved = manifest.SpecFields.FirstOrDefault(f => f.Path == field.Path);
            if (saved is null || saved.Value != field.Value)
                return $"{field.Path} differs from the one checkpoint {manifest.CheckpointId} in {Path.GetDirectoryName(manifest.Directory)} was trained with " +
                    $"(checkpoint: {Flat(saved?.Value ?? "(not recorded)")}; spec: {Flat(field.Value)}); run with --fresh to start over, or use another checkpoint.dir or name";
        }
        return null;
    }

    /// <summary>
    /// Where a run of <paramref name="spec"/> starts, given what <paramref name="scan"/> found under <paramref name="root"/>:
    /// nothing or <paramref name="fresh"/> → fresh; a newest checkpoint whose spec fields differ → refused (Mismatch); its
    /// final checkpoint and nothing more asked → complete; otherwise resume from the newest checkpoint that verified.
    /// Checkpoints skipped as corrupt are named first in the note. The coordinator and runs without one both decide here.
    /// </summary>
    public static LineageStart Start(LineageScan scan, JobSpec spec, bool fresh, string root)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(spec);
        var skipped = scan.Skipped.Count == 0 ? "" : string.Join("; ", scan.Skipped) + "; ";
        if (fresh || scan.Latest is not { } latest)
            return new(null, skipped + (fresh && scan.Latest is not null
                ? $"starting fresh (--fresh): {scan.Committed.Count} committed checkpoint(s) in {root} are not used"
                : $"starting fresh: no committed checkpoint in {root}"), false, null);
        if (Mismatch(latest, FieldsOf(spec)) is { } mismatch) return new(null, mismatch, false, mismatch);
        return IsComplete(latest, spec.Training)
            ? new(latest, $"{skipped}already complete: {Describe(latest)} is the final checkpoint of a finished run; run with --fresh to train again", true, null)
            : new(latest, $"{skipped}resuming from {Describe(latest)}", false, null);
    }

    /// <summary>
    /// Whether <paramref name="latest"/> ends the run <paramref name="training"/> asks for: it is the final save of a finished
    /// run and the spec does not ask for more (more epochs, or a higher maxSteps, resume from it instead).
    /// </summary>
    public static bool IsComplete(CheckpointManifest latest, TrainingSpec training)
    {
        ArgumentNullException.ThrowIfNull(latest);
        ArgumentNullException.ThrowIfNull(training);
        var extended = training.MaxSteps > 0 ? training.MaxSteps > latest.Step : training.Epochs > latest.EpochPlan.Epoch;
        return latest.Final && !extended;
    }

    /// <summary>"checkpoint 7 at step 2,000 (epoch 3, position 1,280)", or "(end of epoch 2)" at an epoch boundary.</summary>
    public static string Describe(CheckpointManifest manifest) => string.Create(CultureInfo.InvariantCulture,
        $"checkpoint {manifest.CheckpointId} at step {manifest.Step:N0} ") + (manifest.EpochPlan is { Cursor: 0, Epoch: > 0 } plan
            ? string.Create(CultureInfo.InvariantCulture, $"(end of epoch {plan.Epoch})")
            : string.Create(CultureInfo.InvariantCulture, $"(epoch {manifest.EpochPlan.Epoch + 1}, position {manifest.EpochPlan.Cursor:N0})"));

    /// <summary>
    /// Reads every <c>ckpt-N</c> under <paramref name="root"/>. The newest committed one must verify byte for byte; one that
    /// does not is skipped (with the reason) and the next older one is tried. At most <paramref name="keep"/> are returned.
    /// </summary>
    public static LineageScan Scan(string root, int keep)
    {
        if (!Directory.Exists(root)) return LineageScan.Empty;
        var lastId = 0L;
        var candidates = new List<(long Id, string Dir)>();
        foreach (var dir in Directory.GetDirectories(root))
        {
            if (!CheckpointFiles.TryParseId(Path.GetFileName(dir), out var id)) continue;
            lastId = Math.Max(lastId, id);
            candidates.Add((id, dir));
        }
        candidates.Sort((a, b) => b.Id.CompareTo(a.Id));
        var skipped = new List<string>();
        var committed = new List<CheckpointManifest>();
        foreach (var (id, dir) in candidates)
        {
            if (committed.Count >= keep) break;
            try
            {
                if (CheckpointFiles.TryRead(dir) is not { } manifest) continue; // never committed
                if (committed.Count == 0) CheckpointFiles.Verify(manifest);
                committed.Add(manifest);
            }
            catch (Exception e) when (e is CheckpointCorruptException or IOException or UnauthorizedAccessException)
            {
                if (committed.Count == 0) skipped.Add($"checkpoint {id} is not usable: {e.Message}");
            }
        }
        committed.Reverse();
        return new LineageScan(committed, lastId, skipped);
    }

    private static string Flat(string yaml) => yaml.Trim().ReplaceLineEndings("; ");
}
