namespace Cluster.Coordinator.Decisions;

/// <summary>
/// What a lost rank costs the job (after torchelastic's restart budget and Horovod elastic's minimum size): with at least
/// <see cref="RecoveryOptions.MinRanks"/> survivors and restarts left in the budget, <see cref="Regroup"/> (the survivors
/// go on in the next generation, each keeping its process and state); with no survivor at all and restarts left,
/// <see cref="RestartFromCheckpoint"/> (no state is left in memory: the job starts again from its newest committed
/// checkpoint); otherwise <see cref="FailJob"/> with the list of failures. Pure: the grain carries out the action.
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
        if (survivors < _options.MinRanks)
            return new(next, [new FailJob($"{lost.Reason}; {survivors} rank(s) left, fewer than workers.minRanks {_options.MinRanks}{List(failures)}", lost.Ranks[0])]);
        if (state.Restarts >= _options.MaxRestarts)
            return new(next, [new FailJob($"{lost.Reason}; the restart budget of {_options.MaxRestarts} is spent{List(failures)}", lost.Ranks[0])]);
        return new(next with { Restarts = state.Restarts + 1 }, [new Regroup(lost.Ranks, lost.Reason)]);
    }

    private static string List(IReadOnlyList<string> failures) =>
        failures.Count <= 1 ? "" : "; failures: " + string.Join("; ", failures.Select((f, i) => $"{i + 1}) {f}"));
}
