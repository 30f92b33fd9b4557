using System.Diagnostics;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Ends a benchmark's child process: kills its tree if it still runs, waits at most 10 s, disposes it.</summary>
internal static class ChildProcess
{
    public static async Task KillAsync(Process child)
    {
        try
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException) { /* already gone */ }
        child.Dispose();
    }
}
