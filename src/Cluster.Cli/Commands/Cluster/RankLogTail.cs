using Cluster.Agent.Node;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>Echoes the local ranks' log files (written by the in-process agent) to the terminal, each line prefixed
/// "[rank k]" (on the single embedded node, rank = local rank).</summary>
internal sealed class RankLogTail(string logs, string jobId, string nodeId, int ranks, TextWriter output) : IDisposable
{
    private readonly StreamReader?[] _readers = new StreamReader?[ranks];
    private readonly string?[] _partial = new string?[ranks];

    /// <summary>Prints every complete line written since the last call.</summary>
    public void Pump()
    {
        for (var k = 0; k < _readers.Length; k++)
        {
            if (_readers[k] is null)
            {
                var path = RankLogs.MemberLog(logs, jobId, nodeId, k);
                if (!File.Exists(path)) continue;
                _readers[k] = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            }
            var text = _readers[k]!.ReadToEnd();
            if (text.Length == 0) continue;
            text = _partial[k] + text;
            var end = text.LastIndexOf('\n');
            _partial[k] = end + 1 < text.Length ? text[(end + 1)..] : null;
            if (end < 0) continue;
            foreach (var line in text[..end].Split('\n')) output.WriteLine($"[rank {k}] {line.TrimEnd('\r')}");
        }
    }

    public void Dispose()
    {
        Pump();
        for (var k = 0; k < _partial.Length; k++)
            if (_partial[k] is { Length: > 0 } rest) output.WriteLine($"[rank {k}] {rest}");
        foreach (var r in _readers) r?.Dispose();
    }
}
