using System.Diagnostics;
using System.Text;

namespace Cluster.IntegrationTests;

/// <summary>Runs the real `cluster` CLI (the cluster.dll built next to this test assembly) as a child process
/// under a deadline; the whole process tree is killed if the deadline passes.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
    }

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "cluster.dll");

    public static async Task<Result> RunAsync(TimeSpan deadline, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(CliDll);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            process.WaitForExit(); // drain the async readers
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`cluster {string.Join(' ', arguments)}` did not finish within {deadline.TotalSeconds} s\n{stderr}");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        return new Result(process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
