namespace Cluster.Coordinator.Decisions;

/// <summary>
/// What a lost rank costs the job (after torchelastic's restart budget, Horovod elastic's minimum size, timeout and host
/// blacklist): with restarts left in the budget (losses within the window), <see cref="Regroup"/> when at least <see cref="RecoveryOptions.MinRanks"/> survive (the
/// survivors go on in the next generation, each keeping its process and state), <see cref="AwaitRanks"/> when fewer do
/// (they keep their state and wait for replacements, at most <see cref="RecoveryOptions.WaitForRanks"/>: see
/// <see cref="DecideWait"/>), <see cref="RestartFromCheckpoint"/> when none does (no state is left in memory: the job starts
/// again from its newest committed checkpoint); otherwise <see cref="FailJob"/> with the list of failures. Pure: the grain
/// carries out the action.
/// </summary>
public sealed class RecoveryDecider(RecoveryOptions options)
{
    /// <summary>Most failures kept in the list (the job fails long before on any sane budget).</summary>
    public const int MaxFailuresKept = 32;

    private readonly RecoveryOptions _options = options.Validated();

    /// <summary>Ranks <paramref name="lost"/> at <paramref name="now"/>; <paramref name="survivors"/> ranks of the generation are still training.</summary>
    public Decision<RecoveryState> Decide(RecoveryState state, RanksLost lost, int survivors, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(lost);
        var failures = state.Failures.Count < MaxFailuresKept ? state.Failures.Add(lost.Reason) : state.Failures;
        var next = state with { Failures = failures };
        var recent = state.Losses.Count(t => InWindow(t, now));
        if (recent >= _options.MaxRestarts)
            return new(next, [new FailJob($"{lost.Reason}; the restart budget of {_options.MaxRestarts} is spent{Within()}{List(failures)}", lost.Ranks.Count > 0 ? lost.Ranks[0] : null)]);
        var spent = next with { Losses = state.Losses.Add(now) };
        if (survivors == 0)
            return new(spent, [new RestartFromCheckpoint($"{lost.Reason}; no rank left: the job restarts from its newest committed checkpoint")]);
        if (survivors < _options.MinRanks)
        {
            var wait = $"{survivors} rank(s) left, fewer than workers.minRanks {_options.MinRanks}: waiting up to {_options.WaitForRanks.TotalSeconds:0.###} s for replacements";
            return new(spent, [new AwaitRanks(lost.Ranks, $"{lost.Reason}; {wait}", _options.MinRanks)]);
        }
        return new(spent, [new Regroup(lost.Ranks, lost.Reason)]);
    }

    /// <summary>
    /// Until when a node whose ranks were lost at <paramref name="losses"/> is on probation at <paramref name="now"/> (no
    /// replacement of it is admitted), or null: fewer than <see cref="RecoveryOptions.ProbationFailures"/> losses within
    /// the window, or the last one more than <see cref="RecoveryOptions.Probation"/> ago.
    /// </summary>
    public DateTimeOffset? ProbationUntil(IEnumerable<DateTimeOffset> losses, DateTimeOffset now)
    {
        if (_options.ProbationFailures == 0) return null;
        var recent = losses.Where(t => t <= now && InWindow(t, now)).ToList();
        if (recent.Count < _options.ProbationFailures) return null;
        var until = recent.Max() + _options.Probation;
        return until > now ? until : null;
    }

    /// <summary>The probation rule in words, for refusals.</summary>
    public string ProbationRule => $"{_options.ProbationFailures} or more of its ranks lost"
        + (_options.Window == TimeSpan.MaxValue ? "" : $" within {_options.Window.TotalMinutes:0.###} min") + " (restart.probationFailures)";

    private bool InWindow(DateTimeOffset t, DateTimeOffset now) => _options.Window == TimeSpan.MaxValue || now - t < _options.Window;

    private string Within() => _options.Window == TimeSpan.MaxValue ? "" : $" within {_options.Window.TotalMinutes:0.###} min (restart.windowMinutes)";

    /// <summary>
    /// The survivors have waited since <paramref name="since"/> with <paramref name="waiting"/> ranks for the minimum: past
    /// <see cref="RecoveryOptions.WaitForRanks"/>, <see cref="FailJob"/> with the list of failures; before, nothing.
    /// </summary>
    public Decision<RecoveryState> DecideWait(RecoveryState state, DateTimeOffset since, int waiting, DateTimeOffset now)
    {
        if (now - since < _options.WaitForRanks) return Decision<RecoveryState>.Unchanged(state);
        var reason = $"{waiting} rank(s) waited {_options.WaitForRanks.TotalSeconds:0.###} s (restart.waitSeconds) and the job did not regain "
            + $"workers.minRanks {_options.MinRanks}{List(state.Failures, always: true)}";
        return new(state, [new FailJob(reason, null)]);
    }

    private static string List(IReadOnlyList<string> failures, bool always = false) =>
        failures.Count == 0 || (failures.Count == 1 && !always) ? "" : "; failures: " + string.Join("; ", failures.Select((f, i) => $"{i + 1}) {f}"));
}
