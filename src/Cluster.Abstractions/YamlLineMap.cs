using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Cluster.Abstractions;

/// <summary>Maps dotted field paths (training.optimizer.lr, training.finetune.freeze[0]) to 1-based YAML lines, and
/// positions in the text back to the path of the key or value there.</summary>
internal sealed class YamlLineMap
{
    private readonly Dictionary<string, int> _lineByPath = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(Mark Start, Mark End, string Path)> _spans = [];

    public static YamlLineMap? TryBuild(string yaml)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            var map = new YamlLineMap();
            if (stream.Documents.Count > 0) map.Walk(stream.Documents[0].RootNode, "");
            return map;
        }
        catch (YamlException)
        {
            return null;
        }
    }

    public int? LineOf(string path)
    {
        // Fall back to the closest ancestor that is present (a missing required field lives in its parent).
        for (var p = path; p.Length > 0; p = Parent(p))
        {
            if (_lineByPath.TryGetValue(p, out var line)) return line;
        }
        return null;
    }

    public string? PathAt(Mark mark)
    {
        string? best = null;
        foreach (var (start, end, path) in _spans)
        {
            if (Compare(start, mark) <= 0 && Compare(mark, end) <= 0) best = path; // innermost wins: spans are added outer-first
        }
        return best;
    }

    private void Walk(YamlNode node, string path)
    {
        if (path.Length > 0)
        {
            _lineByPath.TryAdd(path, (int)node.Start.Line);
            _spans.Add((node.Start, node.End, path));
        }
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    var name = key is YamlScalarNode s ? s.Value ?? "" : "?";
                    var child = path.Length == 0 ? name : $"{path}.{name}";
                    _lineByPath[child] = (int)key.Start.Line;
                    _spans.Add((key.Start, key.End, child));
                    Walk(value, child);
                }
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++) Walk(sequence.Children[i], $"{path}[{i}]");
                break;
        }
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut < 0 ? "" : path[..cut];
    }

    private static int Compare(Mark a, Mark b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column);
}
