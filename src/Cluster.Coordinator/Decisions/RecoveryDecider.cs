namespace Cluster.Coordinator.Decisions;

/// <summary>
/// What a lost rank costs the job (after torchelastic's restart budget and Horovod elastic's minimum size and timeout):
/// with restarts left in the budget, <see cref="Regroup"/> when at least <see cref="RecoveryOptions.MinRanks"/> survive (the
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

    /// <summary>Ranks <paramref name="lost"/>; <paramref name="survivors"/> ranks of the generation are still training.</summary>
    public Decision<RecoveryState> Decide(RecoveryState state, RanksLost lost, int survivors)
    {
        ArgumentNullException.ThrowIfNull(lost);
        var failures = state.Failures.Count < MaxFailuresKept ? state.Failures.Add(lost.Reason) : state.Failures;
        var next = state with { Failures = failures };
        if (survivors == 0 && state.Restarts < _options.MaxRestarts)
            return new(next with { Restarts = state.Restarts + 1 }, [new RestartFromCheckpoint($"{lost.Reason}; no rank left: the job restarts from its newest committed checkpoint")]);
        if (state.Restarts >= _options.MaxRestarts)
            return new(next, [new FailJob($"{lost.Reason}; the restart budget of {_options.MaxRestarts} is spent{List(failures)}", lost.Ranks.Count > 0 ? lost.Ranks[0] : null)]);
        if (survivors < _options.MinRanks)
        {
            var wait = $"{survivors} rank(s) left, fewer than workers.minRanks {_options.MinRanks}: waiting up to {_options.WaitForRanks.TotalSeconds:0.###} s for replacements";
            return new(next with { Restarts = state.Restarts + 1 }, [new AwaitRanks(lost.Ranks, $"{lost.Reason}; {wait}", _options.MinRanks)]);
        }
        return new(next with { Restarts = state.Restarts + 1 }, [new Regroup(lost.Ranks, lost.Reason)]);
    }

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
