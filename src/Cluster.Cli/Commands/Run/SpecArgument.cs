using System.CommandLine;
using Cluster.Abstractions;

namespace Cluster.Cli.Commands.Run;

/// <summary>The job spec argument of `run` and `bench ddp`: a required YAML file, loaded and validated; a bad spec is a
/// usage error naming the field and line.</summary>
internal static class SpecArgument
{
    public static (FileInfo File, JobSpec Spec) Load(ParseResult parseResult, Argument<FileInfo> argument)
    {
        var file = parseResult.GetValue(argument) ?? throw new UsageException("a job spec file is required");
        try { return (file, JobSpecLoader.LoadFile(file.FullName)); }
        catch (JobSpecException ex) { throw new UsageException(ex.Message); }
    }
}
