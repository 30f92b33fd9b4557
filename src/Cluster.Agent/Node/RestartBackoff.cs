namespace Cluster.Agent.Node;

/// <summary>
/// How long a node agent waits before it starts a failed rank again: the spec's <c>restart.backoffSeconds</c>, doubled for
/// each failure in a row of the same local rank that ran less than <see cref="StableAfter"/> (a crash loop), at most
/// <see cref="MaxDelay"/>; a rank that ran longer starts the count over (Kubernetes' crash-loop back-off does the same).
/// </summary>
internal static class RestartBackoff
{
    /// <summary>A rank that ran this long before it failed was not crash-looping.</summary>
    public static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(60);

    /// <summary>The longest wait.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(60);

    /// <summary>The wait after a failure of a rank that ran <paramref name="ranFor"/>, with <paramref name="streak"/> quick failures before it; and the new streak.</summary>
    public static (TimeSpan Delay, int Streak) Next(TimeSpan backoff, int streak, TimeSpan ranFor)
    {
        if (ranFor >= StableAfter) streak = 0;
        var factor = Math.Pow(2, Math.Min(streak, 30));
        var delay = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * factor, Math.Max(backoff.TotalSeconds, MaxDelay.TotalSeconds)));
        return (delay, streak + 1);
    }
}
