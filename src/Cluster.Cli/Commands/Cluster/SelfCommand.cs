using System.Reflection;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>The command line that starts this same `cluster` executable (through `dotnet cluster.dll` when run that way).</summary>
internal static class SelfCommand
{
    /// <summary>Arguments that make `cluster` run one coordinated rank.</summary>
    public static readonly string[] CoordinatedWorker = ["worker", "--coordinated"];

    public static IReadOnlyList<string> With(params string[] arguments)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process's executable");
        var command = new List<string> { host };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") command.Add(Assembly.GetEntryAssembly()!.Location);
        command.AddRange(arguments);
        return command;
    }
}
