using System.Runtime.InteropServices;

namespace Cluster.Cli.Commands.Bench;

/// <summary>CPU time consumed (clock_gettime CLOCK_THREAD_CPUTIME_ID / CLOCK_PROCESS_CPUTIME_ID), in milliseconds. On a
/// shared, overloaded machine wall time includes the time other processes held the core; the calling thread's CPU time
/// does not, and with one torch thread libtorch computes on the calling thread. NaN where unavailable (not Linux).</summary>
internal static partial class BenchStepCpuClock
{
    private const int ProcessCpuTime = 2;
    private const int ThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    public static double ThreadMs() => Read(ThreadCpuTime);

    public static double ProcessMs() => Read(ProcessCpuTime);

    private static double Read(int clock)
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(clock, out var t) != 0) return double.NaN;
        return t.Seconds * 1e3 + t.Nanoseconds / 1e6;
    }
}
