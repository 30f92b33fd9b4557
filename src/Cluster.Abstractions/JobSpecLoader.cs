using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Cluster.Abstractions;

/// <summary>Reads a <see cref="JobSpec"/> from YAML. Unknown keys, malformed values and failed validation all raise
/// a <see cref="JobSpecException"/> whose errors name the field path and the YAML line.</summary>
public static class JobSpecLoader
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .Build();

    public static JobSpec LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new JobSpecException(path, [new JobSpecError("(file)", $"cannot read: {ex.Message}")], ex);
        }
        return Parse(text, path);
    }

    public static JobSpec Parse(string yaml, string source = "(inline)")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var lines = YamlLineMap.TryBuild(yaml);
        JobSpec? spec;
        try
        {
            spec = Deserializer.Deserialize<JobSpec>(yaml);
        }
        catch (YamlException ex)
        {
            var line = (int)ex.Start.Line;
            var path = lines?.PathAt(ex.Start) ?? "(yaml)";
            var message = Describe(ex);
            throw new JobSpecException(source, [new JobSpecError(path, message, line > 0 ? line : null)], ex);
        }
        if (spec is null) throw new JobSpecException(source, [new JobSpecError("(document)", "is empty")]);
        var errors = spec.Validate();
        if (errors.Count > 0)
        {
            throw new JobSpecException(source, errors.Select(e => e with { Line = lines?.LineOf(e.Path) }).ToList());
        }
        return spec;
    }

    /// <summary>The spec as YAML (for passing to workers and for logs).</summary>
    public static string ToYaml(JobSpec spec) => Serializer.Serialize(spec);

    /// <summary>One section of a spec (e.g. <c>training.model</c>) as canonical YAML.</summary>
    public static string SectionYaml(object section) => Serializer.Serialize(section);

    private static string Describe(YamlException ex)
    {
        // YamlDotNet wraps conversion failures ("Exception during deserialization") around the real cause.
        var inner = ex.InnerException;
        var message = ex.Message;
        if (message.Contains("not found on type", StringComparison.Ordinal))
        {
            var start = message.IndexOf('\'');
            var end = start >= 0 ? message.IndexOf('\'', start + 1) : -1;
            var field = start >= 0 && end > start ? message[(start + 1)..end] : "?";
            return $"unknown field '{field}'";
        }
        return inner is not null ? $"invalid value: {inner.Message}" : message;
    }
}
