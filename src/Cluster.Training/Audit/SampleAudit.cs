using System.Globalization;
using System.Text;

namespace Cluster.Training.Audit;

/// <summary>
/// The sample-consumption audit of one rank process (spec <c>training.audit: dir</c>): a JSON line per micro-batch read
/// (generation, rank, world size, epoch, the global position where its step starts, the dataset indices of its real samples) and a
/// line per step outcome (applied or skipped). Each line is one write to a file opened without a user-space buffer, so a
/// rank killed by SIGKILL loses nothing it wrote; a step read and never applied (discarded by a recovery) has no outcome
/// line. <see cref="SampleAuditCheck"/> reads the files of every process back.
/// </summary>
public sealed class SampleAudit : IDisposable
{
    public const string Extension = ".audit.jsonl";
    private readonly FileStream _file;
    private readonly Lock _gate = new();

    /// <param name="directory">Where every rank of the job writes its file (created when missing).</param>
    /// <param name="name">This process's file name without extension (letters, digits, '-', '_', '.').</param>
    public SampleAudit(string directory, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) || name.StartsWith('.'))
            throw new ArgumentException($"audit file name '{name}' must be letters, digits, '-', '_' or '.'", nameof(name));
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, name + Extension);
        _file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
    }

    public string Path { get; }

    /// <summary>A micro-batch (of rank <paramref name="rank"/> of <paramref name="world"/>) of the step that starts at <paramref name="stepStart"/> of <paramref name="epoch"/> was read.</summary>
    public void Read(long generation, int rank, int world, int epoch, long stepStart, IEnumerable<int> ids)
    {
        var line = new StringBuilder(64 + 8 * 16);
        line.Append(CultureInfo.InvariantCulture, $"{{\"kind\":\"read\",\"g\":{generation},\"rank\":{rank},\"world\":{world},\"epoch\":{epoch},\"start\":{stepStart},\"ids\":[");
        var first = true;
        foreach (var id in ids)
        {
            if (!first) line.Append(',');
            line.Append(id.ToString(CultureInfo.InvariantCulture));
            first = false;
        }
        line.Append("]}\n");
        Write(line.ToString());
    }

    /// <summary>The step that starts at <paramref name="stepStart"/> of <paramref name="epoch"/> was applied (as optimizer step <paramref name="step"/>) or skipped (a non-finite gradient).</summary>
    public void Outcome(long generation, int rank, int epoch, long stepStart, long step, bool applied) =>
        Write(FormattableString.Invariant($"{{\"kind\":\"{(applied ? "applied" : "skipped")}\",\"g\":{generation},\"rank\":{rank},\"epoch\":{epoch},\"start\":{stepStart},\"step\":{step}}}\n"));

    private void Write(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        lock (_gate) _file.Write(bytes);
    }

    public void Dispose() => _file.Dispose();
}
