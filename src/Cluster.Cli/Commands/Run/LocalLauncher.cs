using System.Diagnostics;

namespace Cluster.Cli.Commands.Run;

/// <summary>Starts N rank processes of this same executable (`cluster worker`), streams their output prefixed by rank,
/// fails fast when one fails (killing the others) and always kills every process tree it started.</summary>
internal sealed class LocalLauncher(TextWriter output)
{
    private readonly object writeLock = new();

    /// <returns>null when every rank exited 0, else (rank, exit code) of the first failure.</returns>
    /// <exception cref="TimeoutException">Some ranks were still running after <paramref name="timeout"/> (they are killed).</exception>
    public async Task<(int Rank, int ExitCode)?> RunAsync(int workers, string configPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var processes = new List<Process>();
        using var deadline = new CancellationTokenSource(timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            for (var rank = 0; rank < workers; rank++) processes.Add(Start(rank, configPath));
            var waits = processes.Select((p, rank) => p.WaitForExitAsync(linked.Token).ContinueWith(_ => rank, TaskScheduler.Default)).ToList();
            while (waits.Count > 0)
            {
                var done = await Task.WhenAny(waits).ConfigureAwait(false);
                waits.Remove(done);
                cancellationToken.ThrowIfCancellationRequested();
                if (deadline.IsCancellationRequested)
                {
                    var running = processes.Select((p, r) => (p, r)).Where(x => !x.p.HasExited).Select(x => x.r).ToList();
                    throw new TimeoutException($"rank(s) {string.Join(", ", running)} still running after the {timeout.TotalSeconds:0} s deadline (--timeout); killed");
                }
                var rank = await done.ConfigureAwait(false);
                var p = processes[rank];
                p.WaitForExit(); // drains the redirected output
                if (p.ExitCode != 0) return (rank, p.ExitCode);
            }
            return null;
        }
        finally
        {
            foreach (var p in processes)
            {
                try
                {
                    if (!p.HasExited) p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
                catch (InvalidOperationException)
                {
                    // already gone
                }
                p.Dispose();
            }
        }
    }

    private Process Start(int rank, string configPath)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var command = Cluster.SelfCommand.With("worker");
        info.FileName = command[0];
        foreach (var part in command.Skip(1)) info.ArgumentList.Add(part);
        info.Environment[WorkerConfig.PathVariable] = configPath;
        info.Environment[WorkerConfig.RankVariable] = rank.ToString(System.Globalization.CultureInfo.InvariantCulture);
        global::Cluster.Training.Engine.RankMallocSettings.ApplyTo(info.Environment);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(rank, e.Data);
        process.ErrorDataReceived += (_, e) => Write(rank, e.Data);
        if (!process.Start()) throw new InvalidOperationException($"could not start rank {rank}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Write(int rank, string? line)
    {
        if (line is null) return;
        lock (writeLock) output.WriteLine($"[rank {rank}] {line}");
    }
}
