using System.Diagnostics;

namespace Cluster.Training.Tests;

/// <summary>Starts the real `cluster` executable (built next to the tests) and captures its output.</summary>
internal static class ClusterCli
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args) =>
        RunAsync(timeout, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="RunAsync(TimeSpan, string[])"/> with <paramref name="environment"/> added (the ranks inherit it).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "cluster.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in environment) info.Environment[key] = value;
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start cluster");
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try { await process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"cluster {string.Join(' ', args)} did not finish within {timeout}; stderr: {await Drain(stderr)}"); }
            return (process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Starts `cluster` without waiting (the caller kills it, e.g. with its whole process tree).</summary>
    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = false, RedirectStandardError = false, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cluster.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.ArgumentList.Add("--logs");
        info.ArgumentList.Add(Path.Combine(Path.GetTempPath(), "cluster-test-logs"));
        return Process.Start(info) ?? throw new InvalidOperationException("could not start cluster");
    }

    private static async Task<string> Drain(Task<string> t) => await Task.WhenAny(t, Task.Delay(1000)) == t ? await t : "";
}
