using System.Diagnostics;

namespace Cluster.IntegrationTests;

internal static class ClusterTestPoll
{
    /// <summary>Polls <paramref name="probe"/> until it returns a non-null value or <paramref name="deadline"/> passes.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan deadline, Func<string> whatFor) where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } value) return value;
            if (clock.Elapsed > deadline) throw new TimeoutException($"waited {deadline.TotalSeconds} s for {whatFor()}");
            await Task.Delay(100);
        }
    }

    /// <summary>True once no process with any of <paramref name="pids"/> is alive, polling under <paramref name="deadline"/>.</summary>
    public static async Task<bool> ProcessesGoneAsync(IEnumerable<int> pids, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        var list = pids.ToList();
        while (true)
        {
            if (list.All(p => !Alive(p))) return true;
            if (clock.Elapsed > deadline) return false;
            await Task.Delay(100);
        }
    }

    public static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
