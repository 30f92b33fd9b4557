using System.CommandLine;
using System.Text.Json;
using Cluster.Abstractions;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Audit;
using Cluster.Training.Engine;

namespace Cluster.Cli.Commands;

/// <summary>
/// `cluster audit dir --samples N --epochs E`: reads the sample-consumption audit a job wrote (spec <c>training.audit</c>)
/// and says, per epoch, how many samples went into the final state once, never or more than once, and how many steps were
/// read and discarded by recoveries. With <c>--replay spec</c> it also replays the steps of the final state in this process
/// (<see cref="AuditReplay"/>) and compares the parameters with the final model (<c>--model</c>, or the newest committed
/// checkpoint of the spec's lineage). Exit 0 only when every sample of every epoch was trained exactly once and the replay,
/// if asked for, reproduces the final parameters within <see cref="ReplayTolerance"/> (relative).
/// </summary>
internal sealed class AuditCommand : BaseCommand
{
    private readonly Argument<DirectoryInfo> directory = new("dir") { Description = "The job's training.audit directory" };
    private readonly Option<int> samples = new("--samples") { Description = "Training samples in an epoch (the dataset's size)", Required = true };
    private readonly Option<int> epochs = new("--epochs") { Description = "Epochs to check, from the first", Required = true };
    private readonly Option<bool> json = new("--json") { Description = "JSON summary as the last stdout line; human text on stderr" };
    private readonly Option<FileInfo?> replay = new("--replay") { Description = "The job's spec: replay the audit's committed steps in this process and compare with the final model" };
    private readonly Option<FileInfo?> model = new("--model") { Description = "The final model.bin to compare the replay with (default: the newest committed checkpoint of the spec's lineage)" };

    /// <summary>The largest relative difference ‖replayed − final‖ / ‖final‖ of any parameter that counts as reproduced.</summary>
    public const double ReplayTolerance = 1e-6;

    public AuditCommand() : base("audit", "Check that every sample was trained exactly once (a job's training.audit files)")
    {
        Arguments.Add(directory);
        foreach (var option in new Option[] { samples, epochs, json, replay, model }) Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var dir = parseResult.GetValue(directory)!;
        var n = parseResult.GetValue(samples);
        var e = parseResult.GetValue(epochs);
        if (!dir.Exists) throw new UsageException($"audit directory {dir.FullName} does not exist");
        if (n < 1) throw new UsageException($"--samples must be >= 1 (got {n})");
        if (e < 1) throw new UsageException($"--epochs must be >= 1 (got {e})");
        var asJson = parseResult.GetValue(json);
        var human = asJson ? Console.Error : Console.Out;
        AuditLog log;
        IReadOnlyList<SampleAuditCheck.EpochCount> counts;
        try
        {
            log = AuditLog.Load(dir.FullName);
            counts = SampleAuditCheck.Check(log, n, Enumerable.Range(0, e));
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or IndexOutOfRangeException or KeyNotFoundException)
        {
            throw new UsageException($"audit in {dir.FullName} does not read: {ex.Message}");
        }
        foreach (var c in counts)
            await human.WriteLineAsync($"epoch {c.Epoch}: {c.Trained} of {n} trained once, {c.Missing} never, {c.Duplicated} more than once; {c.Discarded} step(s) read and discarded, {c.Skipped} skipped").ConfigureAwait(false);
        var exact = counts.All(c => c.Trained == n && c.Missing == 0 && c.Duplicated == 0);
        await human.WriteLineAsync(exact ? "audit: every sample exactly once" : "audit: samples lost or duplicated").ConfigureAwait(false);
        var replayed = parseResult.GetValue(replay) is { } specFile ? Replay(specFile, parseResult.GetValue(model), log, cancellationToken) : null;
        if (replayed is { } r)
        {
            await human.WriteLineAsync(FormattableString.Invariant(
                $"replay: {r.Result.Steps} step(s) in {r.Result.Segments} run(s) from the initial model; largest relative difference to {r.Model} {r.MaxRelative:E2} ") +
                FormattableString.Invariant($"(tolerance {ReplayTolerance:E0}), {r.Identical} of {r.Count} parameter tensors bit-identical") +
                (r.MaxRelative <= ReplayTolerance ? "" : ": NOT reproduced")).ConfigureAwait(false);
        }
        var reproduced = replayed is null || replayed.Value.MaxRelative <= ReplayTolerance;
        if (asJson)
        {
            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new
            {
                exactly_once = exact, samples = n, epochs = e,
                missing = counts.Sum(c => c.Missing), duplicated = counts.Sum(c => c.Duplicated), discarded_steps = counts.Sum(c => c.Discarded),
                skipped_steps = counts.Sum(c => c.Skipped),
                replay = replayed is { } j
                    ? new { steps = j.Result.Steps, segments = j.Result.Segments, model = j.Model, max_relative_difference = j.MaxRelative, identical_tensors = j.Identical, tensors = j.Count, reproduced }
                    : null,
            })).ConfigureAwait(false);
        }
        return exact && reproduced ? ExitCodes.Success : ExitCodes.WrongResult;
    }

    private static (AuditReplay.Result Result, string Model, double MaxRelative, int Identical, int Count)? Replay(FileInfo specFile, FileInfo? modelFile,
        AuditLog log, CancellationToken cancellationToken)
    {
        if (!specFile.Exists) throw new UsageException($"spec {specFile.FullName} does not exist");
        var spec = JobSpecLoader.LoadFile(specFile.FullName);
        var final = modelFile?.FullName
            ?? (string.IsNullOrWhiteSpace(spec.Checkpoint.Dir) ? null : TrainerCheckpoint.ModelFileOfLatest(CheckpointLineage.RootOf(spec.Checkpoint.Dir, spec.Name)))
            ?? throw new UsageException($"no committed checkpoint of {spec.Name} to compare the replay with: pass --model");
        if (!File.Exists(final)) throw new UsageException($"model {final} does not exist");
        TorchSharp.torch.set_num_threads(1); // as a rank (CLUSTER_THREADS unset)
        var data = JobData.Load(spec.Training);
        using var replayed = AuditReplay.CreateModel(spec.Training, data);
        if (AuditReplay.Unsupported(spec.Training, replayed) is { } why) throw new UsageException($"cannot replay {spec.Name}: {why}");
        AuditReplay.Result result;
        try { result = AuditReplay.Run(spec.Training, data, log, replayed, cancellationToken); }
        catch (InvalidDataException ex) { throw new UsageException($"replay of {specFile.Name}: {ex.Message}"); }
        using var reference = AuditReplay.CreateModel(spec.Training, data);
        reference.load(final);
        var (max, identical, count) = AuditReplay.Compare(replayed, reference);
        return (result, final, max, identical, count);
    }
}
