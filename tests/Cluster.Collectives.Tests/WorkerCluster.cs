using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace Cluster.Collectives.Tests;

/// <summary>Starts one test-worker process per rank, exchanges their listen ports and collects their stdout lines.
/// Dispose kills every process tree that is still running.</summary>
internal sealed class WorkerCluster : IDisposable
{
    private readonly Process[] _processes;
    private readonly BlockingCollection<string>[] _lines;
    private readonly ITestOutputHelper? _output;

    private WorkerCluster(Process[] processes, BlockingCollection<string>[] lines, ITestOutputHelper? output)
    {
        _processes = processes;
        _lines = lines;
        _output = output;
    }

    public int WorldSize => _processes.Length;

    public Process this[int rank] => _processes[rank];

    public static WorkerCluster Start(int world, ITestOutputHelper? output, TimeSpan timeout, params string[] args)
    {
        var worker = typeof(TestWorker.Scenarios).Assembly.Location;
        var processes = new Process[world];
        var lines = new BlockingCollection<string>[world];
        var cluster = new WorkerCluster(processes, lines, output);
        try
        {
            for (var r = 0; r < world; r++)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                psi.ArgumentList.Add(worker);
                foreach (var a in new[] { "--rank", r.ToString(), "--world", world.ToString() }.Concat(args)) psi.ArgumentList.Add(a);
                var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start the test worker");
                processes[r] = p;
                var queue = lines[r] = new BlockingCollection<string>();
                var rank = r;
                p.OutputDataReceived += (_, e) => { if (e.Data is { } d) { queue.Add(d); cluster.Log($"[rank {rank}] {d}"); } };
                p.ErrorDataReceived += (_, e) => { if (e.Data is { } d) cluster.Log($"[rank {rank} stderr] {d}"); };
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
            }
            var ports = new string[world];
            for (var r = 0; r < world; r++) ports[r] = cluster.WaitForLine(r, l => l.StartsWith("PORT ", StringComparison.Ordinal), timeout)["PORT ".Length..];
            foreach (var p in processes)
            {
                p.StandardInput.WriteLine("PEERS " + string.Join(",", ports));
                p.StandardInput.Flush();
            }
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private void Log(string line)
    {
        try { _output?.WriteLine(line); }
        catch (InvalidOperationException) { } // the test already finished
    }

    /// <summary>Next stdout line of <paramref name="rank"/> that matches, skipping others; fails after <paramref name="timeout"/>.</summary>
    public string WaitForLine(int rank, Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (left <= TimeSpan.Zero || !_lines[rank].TryTake(out var line, left))
                throw new TimeoutException($"rank {rank} printed no matching line within {timeout.TotalSeconds} s (exited: {_processes[rank].HasExited})");
            if (match(line)) return line;
        }
    }

    /// <summary>Waits for DONE (or FAIL) from every rank and asserts DONE.</summary>
    public void AssertAllDone(TimeSpan timeout)
    {
        for (var r = 0; r < WorldSize; r++)
        {
            var line = WaitForLine(r, l => l == "DONE" || l.StartsWith("FAIL", StringComparison.Ordinal), timeout);
            Xunit.Assert.True(line == "DONE", $"rank {r}: {line}");
        }
    }

    public void Kill(int rank) => _processes[rank].Kill(entireProcessTree: true);

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            if (p is null) continue;
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
    }
}
