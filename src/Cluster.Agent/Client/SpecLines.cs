using YamlDotNet.RepresentationModel;

namespace Cluster.Agent.Client;

/// <summary>Finds the YAML line of a dotted field path (for error messages about fields checked after parsing).</summary>
internal static class SpecLines
{
    public static int? LineOf(string yaml, string dottedPath)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count == 0) return null;
            YamlNode node = stream.Documents[0].RootNode;
            int? line = null;
            foreach (var key in dottedPath.Split('.'))
            {
                if (node is not YamlMappingNode map) return line;
                var entry = map.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode s && s.Value == key);
                if (entry.Key is null) return line;
                line = (int)entry.Key.Start.Line;
                node = entry.Value;
            }
            return line;
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return null;
        }
    }
}
