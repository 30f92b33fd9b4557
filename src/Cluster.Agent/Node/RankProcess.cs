using System.Diagnostics;
using System.Globalization;

namespace Cluster.Agent.Node;

/// <summary>
/// One rank process started by the agent: stdout and stderr go line by line (flushed) to its log file, the last
/// lines are kept for exit reports, <see cref="Exited"/> completes with the exit code once the output is drained.
/// </summary>
internal sealed class RankProcess : IDisposable
{
    private const int TailLines = 5;
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();
    private readonly Lock _gate = new();

    private RankProcess(Process process, StreamWriter log, string jobId, string memberId, int localRank, string logPath, long startedInGeneration)
    {
        StartedInGeneration = startedInGeneration;
        StartedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        _process = process;
        _log = log;
        JobId = jobId;
        MemberId = memberId;
        LocalRank = localRank;
        LogPath = logPath;
        Exited = WaitAsync();
    }

    public string JobId { get; }
    public string MemberId { get; }
    public int LocalRank { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;
    /// <summary>The node's generation when the process started (0: before the first; a replacement: the one it is admitted after).</summary>
    public long StartedInGeneration { get; }
    /// <summary>When the process started (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long StartedAt { get; }

    /// <summary>Completes with the exit code (128+signal when killed by a signal) after the output is drained.</summary>
    public Task<int> Exited { get; }

    /// <summary>The last few output lines, newest last.</summary>
    public string Tail
    {
        get { lock (_gate) return string.Join(" | ", _tail); }
    }

    public static RankProcess Start(ProcessStartInfo info, string jobId, string memberId, int localRank, string logPath, long startedInGeneration = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { AutoFlush = true };
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        RankProcess? rank = null;
        process.OutputDataReceived += (_, e) => rank?.Write(e.Data);
        process.ErrorDataReceived += (_, e) => rank?.Write(e.Data);
        try
        {
            if (!process.Start()) throw new InvalidOperationException($"could not start {memberId} of job '{jobId}' ({info.FileName})");
        }
        catch
        {
            log.Dispose();
            process.Dispose();
            throw;
        }
        rank = new RankProcess(process, log, jobId, memberId, localRank, logPath, startedInGeneration);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return rank;
    }

    /// <summary>Kills the rank and every process it started; no-op once exited.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // exited meanwhile
        }
    }

    private async Task<int> WaitAsync()
    {
        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        _process.WaitForExit(); // drains the asynchronous readers
        var code = _process.ExitCode;
        Write(string.Create(CultureInfo.InvariantCulture, $"[agent] {MemberId} exited with code {code}"));
        lock (_gate) _log.Dispose();
        return code;
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines) _tail.Dequeue();
            try { _log.WriteLine(line); }
            catch (ObjectDisposedException) { /* output after exit */ }
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
