namespace Cluster.Coordinator.Decisions;

/// <summary>Result of a pure decision: the next state and the effects the grain must carry out, in order.</summary>
public sealed record Decision<TState>(TState State, IReadOnlyList<CoordinatorAction> Actions)
{
    /// <summary>No change, no effects.</summary>
    public static Decision<TState> Unchanged(TState state) => new(state, []);

    /// <summary>State unchanged, event refused with <paramref name="reason"/>.</summary>
    public static Decision<TState> Reject(TState state, string reason) => new(state, [new RejectEvent(reason)]);

    /// <summary>The reason of the first <see cref="RejectEvent"/>, or null when the event was accepted.</summary>
    public string? Rejection => Actions.OfType<RejectEvent>().FirstOrDefault()?.Reason;
}
