using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Cluster.Cli.Commands.Cluster;

namespace Cluster.Cli.Commands.Bench;

/// <summary>The child processes of `bench control-plane`: a throwaway redis-server (no persistence) and the silo
/// process. Killed on dispose, also when the bench fails.</summary>
internal sealed class ControlPlaneProcesses : IAsyncDisposable
{
    private readonly List<Process> _children = [];

    public Process? Silo { get; private set; }

    public async Task StartRedisAsync(int port, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            info.ArgumentList.Add(a);
        var redis = Start(info, "redis-server");
        redis.BeginOutputReadLine();
        redis.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (redis.HasExited) throw new InvalidOperationException($"redis-server on port {port} exited with code {redis.ExitCode}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts the silo process and waits (at most 60 s) for its "ready" line.</summary>
    public async Task StartSiloAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var command = SelfCommand.With(["bench", "control-plane-silo", .. arguments]);
        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var a in command.Skip(1)) info.ArgumentList.Add(a);
        Silo = Start(info, "silo");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        var line = await Silo.StandardOutput.ReadLineAsync(deadline.Token).ConfigureAwait(false);
        if (line != "ready") throw new InvalidOperationException($"the silo process did not start (said '{line ?? "nothing"}', exit {(Silo.HasExited ? Silo.ExitCode : "none yet")})");
        _ = Silo.StandardOutput.ReadToEndAsync(CancellationToken.None);
    }

    /// <summary>CPU seconds (user + system) the silo process has used so far, from /proc.</summary>
    public double SiloCpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Silo!.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command name: state is field 3 of stat(5), so utime (14) and stime (15) are at 11 and 12 here.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private Process Start(ProcessStartInfo info, string what)
    {
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{what} did not start");
        _children.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        if (Silo is { HasExited: false })
        {
            Silo.StandardInput.Close(); // asks it to stop
            try { await Silo.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
            catch (TimeoutException) { /* killed below */ }
        }
        foreach (var child in _children)
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
}
