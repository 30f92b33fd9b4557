using System.Text.RegularExpressions;
using Cluster.Agent.Grains;

namespace Cluster.Agent.Node;

/// <summary>
/// This node's rank logs for <see cref="IRankLogSource"/>: only members of this node, only job ids of plain characters
/// (no path can be named), at most <see cref="LogChunk.MaxBytes"/> per read.
/// </summary>
internal sealed partial class RankLogSource(string logsDirectory, string nodeId) : IRankLogSource
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
    private static partial Regex PlainId();

    public async Task<LogChunk> Read(string jobId, string memberId, long offset, int maxBytes)
    {
        if (jobId is null || !PlainId().IsMatch(jobId) || jobId.Contains("..", StringComparison.Ordinal)) return Refused($"job id '{jobId}' is not a plain name");
        if (memberId is null || !memberId.StartsWith(nodeId + "/", StringComparison.Ordinal)
            || !int.TryParse(memberId.AsSpan(nodeId.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var local))
            return Refused($"member '{memberId}' is not a rank of node {nodeId}");
        if (offset < 0 || maxBytes is < 1 or > LogChunk.MaxBytes) return Refused($"offset must be >= 0 and maxBytes 1..{LogChunk.MaxBytes}");
        var path = RankLogs.MemberLog(logsDirectory, jobId, nodeId, local);
        if (!File.Exists(path)) return new LogChunk([], offset, $"no log of {memberId} of job '{jobId}' on node {nodeId}");
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset >= file.Length) return new LogChunk([], offset);
        file.Seek(offset, SeekOrigin.Begin);
        var buffer = new byte[(int)Math.Min(maxBytes, file.Length - offset)];
        var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false).ConfigureAwait(false);
        return new LogChunk(read == buffer.Length ? buffer : buffer[..read], offset + read);
    }

    private static LogChunk Refused(string why) => new([], 0, why);
}
