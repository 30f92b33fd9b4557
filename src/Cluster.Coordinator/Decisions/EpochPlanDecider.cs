using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// The coordinator owns the sampler position (seed, epoch, global cursor). Ranks report it after each
/// step; it may only move forward. A committed checkpoint records it; a restore starts from it.
/// </summary>
public static class EpochPlanDecider
{
    /// <summary>Accepts <paramref name="epoch"/>/<paramref name="cursor"/> unless it moves backwards.</summary>
    public static Decision<EpochPlan> Observe(EpochPlan state, int epoch, long cursor)
    {
        if (epoch < 0 || cursor < 0)
            return Decision<EpochPlan>.Reject(state, $"epoch {epoch} and cursor {cursor} must be >= 0");
        if (epoch < state.Epoch || (epoch == state.Epoch && cursor < state.Cursor))
            return Decision<EpochPlan>.Reject(state, $"sampler position (epoch {epoch}, cursor {cursor}) is behind (epoch {state.Epoch}, cursor {state.Cursor})");
        return epoch == state.Epoch && cursor == state.Cursor
            ? Decision<EpochPlan>.Unchanged(state)
            : new(state with { Epoch = epoch, Cursor = cursor }, []);
    }

    /// <summary>The position to resume from: the committed checkpoint's, or the start of epoch 0.</summary>
    public static EpochPlan ResumePoint(long seed, CheckpointManifest? committed) =>
        committed?.EpochPlan ?? new EpochPlan(seed, 0, 0);
}
