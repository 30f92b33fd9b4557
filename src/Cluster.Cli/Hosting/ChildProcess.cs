using System.Diagnostics;

namespace Cluster.Cli.Hosting;

/// <summary>A child process of this `cluster` executable with redirected stdio. Disposing kills its whole
/// process tree, so no rank outlives the command that started it.</summary>
internal sealed class ChildProcess : IDisposable
{
    private ChildProcess(Process process, string name)
    {
        Process = process;
        Name = name;
    }

    public Process Process { get; }
    public string Name { get; }

    /// <summary>Starts `cluster args...` (through `dotnet cluster.dll` when this process runs that way).</summary>
    public static ChildProcess StartSelf(string name, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var command = Commands.Cluster.SelfCommand.With();
        info.FileName = command[0];
        foreach (var part in command.Skip(1)) info.ArgumentList.Add(part);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        return new ChildProcess(process, name);
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        Process.Dispose();
    }
}
