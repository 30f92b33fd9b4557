using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Two-phase checkpoint consensus. Phase one opens checkpoint N at a step boundary (an interval step, or one a rank
/// asks for: end of epoch, last step); each rank of the generation writes its files (rank 0: model, optimizer, trainer
/// state; the others none) and acks with the sampler position it saved. Commit (manifest written atomically by the grain) only when every
/// rank acked the same sampler position; any error vote, rank failure or timeout aborts and discards the
/// partial files. Committed checkpoints beyond keep-last-K are pruned.
/// </summary>
public sealed class CheckpointDecider(CheckpointOptions options)
{
    private readonly CheckpointOptions _options = options.Validated();

    /// <summary>The policy this decider applies.</summary>
    public CheckpointOptions Options => _options;

    /// <summary>Applies <paramref name="evt"/> at time <paramref name="now"/>.</summary>
    public Decision<CheckpointState> Decide(CheckpointState state, CheckpointEvent evt, DateTimeOffset now) => evt switch
    {
        CheckpointEvent.StepCompleted s => OnStep(state, s, now),
        CheckpointEvent.Ack a => OnAck(state, a.Vote, now),
        CheckpointEvent.Tick => state.Pending is { } p && now >= p.Deadline
            ? Abort(state, $"checkpoint {p.CheckpointId} timed out after {_options.AckTimeout.TotalSeconds:0.###}s waiting for ranks {Missing(p)}")
            : Decision<CheckpointState>.Unchanged(state),
        CheckpointEvent.Abort a => state.Pending is null ? Decision<CheckpointState>.Unchanged(state) : Abort(state, a.Reason),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "unknown checkpoint event"),
    };

    private Decision<CheckpointState> OnStep(CheckpointState state, CheckpointEvent.StepCompleted s, DateTimeOffset now)
    {
        var due = s.Requested || (_options.IntervalSteps > 0 && s.Step % _options.IntervalSteps == 0);
        if (string.IsNullOrWhiteSpace(_options.RootDirectory) || s.Step <= 0 || !due) return Decision<CheckpointState>.Unchanged(state);
        // The last step's request when its interval checkpoint is already open: that one becomes the final checkpoint (a
        // re-run of the spec then finds the lineage complete); already committed without the mark: a final one is written.
        if (s.Final && state.Pending is { Final: false } open && open.Step == s.Step)
            return new(state with { Pending = open with { Final = true } }, []);
        var refinal = s.Final && state.Pending is null && state.Latest is { Final: false } last && last.Step == s.Step;
        if (state.Pending is not null || (s.Step <= state.LastOpenedStep && !refinal)) return Decision<CheckpointState>.Unchanged(state);
        var id = state.LastCheckpointId + 1;
        var dir = _options.DirectoryOf(id);
        var pending = new PendingCheckpoint(id, s.Generation, s.Step, s.WorldSize, dir, now + _options.AckTimeout, [], s.Final);
        return new(state with { LastCheckpointId = id, LastOpenedStep = s.Step, Pending = pending }, [new OpenCheckpoint(id, s.Step, dir)]);
    }

    private Decision<CheckpointState> OnAck(CheckpointState state, CheckpointAck ack, DateTimeOffset now)
    {
        if (state.Pending is not { } p)
            return Decision<CheckpointState>.Reject(state, $"checkpoint {ack.CheckpointId} is not open");
        if (ack.CheckpointId != p.CheckpointId || ack.Generation != p.Generation)
            return Decision<CheckpointState>.Reject(state, $"ack for checkpoint {ack.CheckpointId} of generation {ack.Generation} does not match open checkpoint {p.CheckpointId} of generation {p.Generation}");
        if (ack.Rank < 0 || ack.Rank >= p.WorldSize)
            return Decision<CheckpointState>.Reject(state, $"rank {ack.Rank} outside world size {p.WorldSize}");
        if (ack.Error is { } error)
            return Abort(state, $"rank {ack.Rank} failed to write checkpoint {p.CheckpointId}: {error}");
        if (ack.Rank == 0 && ack.Files.Count == 0)
            return Abort(state, $"rank 0 acked checkpoint {p.CheckpointId} without files (rank 0 writes the model and optimizer)");
        if (p.HasAck(ack.Rank))
            return Decision<CheckpointState>.Unchanged(state); // duplicate (retried call)
        var acked = p.With(ack);
        if (acked.Acks.Count < p.WorldSize)
            return new(state with { Pending = acked }, []);
        var acks = acked.Acks.OrderBy(a => a.Rank).ToList(); // once per checkpoint

        var first = acks[0];
        var mismatch = acks.FirstOrDefault(a => a.Epoch != first.Epoch || a.Cursor != first.Cursor);
        if (mismatch is not null)
            return Abort(state, $"checkpoint {p.CheckpointId}: rank {mismatch.Rank} saved sampler position (epoch {mismatch.Epoch}, cursor {mismatch.Cursor}) but rank {first.Rank} saved (epoch {first.Epoch}, cursor {first.Cursor})");

        var manifest = new CheckpointManifest(_options.JobId, p.CheckpointId, p.Generation, p.Step, p.WorldSize,
            new EpochPlan(_options.Seed, first.Epoch, first.Cursor), p.Directory, now,
            acks.Where(a => a.Files.Count > 0).Select(a => new RankCheckpointFiles(a.Rank, a.Files)).ToList())
        {
            Lineage = _options.Lineage, SpecFields = _options.SpecFields, Final = p.Final,
        };
        var committed = state.Committed.Append(manifest).ToList();
        var actions = new List<CoordinatorAction> { new CommitCheckpoint(manifest) };
        while (committed.Count > _options.KeepLast)
        {
            actions.Add(new PruneCheckpoint(committed[0]));
            committed.RemoveAt(0);
        }
        return new(state with { Pending = null, Committed = committed }, actions);
    }

    private static Decision<CheckpointState> Abort(CheckpointState state, string reason)
    {
        var p = state.Pending!;
        return new(state with { Pending = null }, [new DiscardCheckpoint(p.CheckpointId, p.Directory, reason)]);
    }

    private static string Missing(PendingCheckpoint p) =>
        string.Join(", ", Enumerable.Range(0, p.WorldSize).Where(r => !p.HasAck(r)));
}
