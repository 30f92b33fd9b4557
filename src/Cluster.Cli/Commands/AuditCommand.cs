using System.CommandLine;
using System.Text.Json;
using Cluster.Training.Audit;

namespace Cluster.Cli.Commands;

/// <summary>
/// `cluster audit dir --samples N --epochs E`: reads the sample-consumption audit a job wrote (spec <c>training.audit</c>)
/// and says, per epoch, how many samples went into the final state once, never or more than once, and how many steps were
/// read and discarded by recoveries. Exit 0 only when every sample of every epoch was trained exactly once.
/// </summary>
internal sealed class AuditCommand : BaseCommand
{
    private readonly Argument<DirectoryInfo> directory = new("dir") { Description = "The job's training.audit directory" };
    private readonly Option<int> samples = new("--samples") { Description = "Training samples in an epoch (the dataset's size)", Required = true };
    private readonly Option<int> epochs = new("--epochs") { Description = "Epochs to check, from the first", Required = true };
    private readonly Option<bool> json = new("--json") { Description = "JSON summary as the last stdout line; human text on stderr" };

    public AuditCommand() : base("audit", "Check that every sample was trained exactly once (a job's training.audit files)")
    {
        Arguments.Add(directory);
        foreach (var option in new Option[] { samples, epochs, json }) Options.Add(option);
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
        IReadOnlyList<SampleAuditCheck.EpochCount> counts;
        try { counts = SampleAuditCheck.Check(dir.FullName, n, Enumerable.Range(0, e)); }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or IndexOutOfRangeException or KeyNotFoundException)
        {
            throw new UsageException($"audit in {dir.FullName} does not read: {ex.Message}");
        }
        foreach (var c in counts)
            await human.WriteLineAsync($"epoch {c.Epoch}: {c.Trained} of {n} trained once, {c.Missing} never, {c.Duplicated} more than once; {c.Discarded} step(s) read and discarded, {c.Skipped} skipped").ConfigureAwait(false);
        var exact = counts.All(c => c.Trained == n && c.Missing == 0 && c.Duplicated == 0);
        await human.WriteLineAsync(exact ? "audit: every sample exactly once" : "audit: samples lost or duplicated").ConfigureAwait(false);
        if (asJson)
        {
            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new
            {
                exactly_once = exact, samples = n, epochs = e,
                missing = counts.Sum(c => c.Missing), duplicated = counts.Sum(c => c.Duplicated), discarded_steps = counts.Sum(c => c.Discarded),
                skipped_steps = counts.Sum(c => c.Skipped),
            })).ConfigureAwait(false);
        }
        return exact ? ExitCodes.Success : ExitCodes.WrongResult;
    }
}
