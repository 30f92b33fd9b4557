namespace Cluster.Coordinator.Decisions;

/// <summary>Inputs of <see cref="RendezvousDecider"/>.</summary>
public abstract record RendezvousEvent
{
    /// <summary>Members (already authenticated; a node's local ranks, joining together) join.</summary>
    public sealed record Join(IReadOnlyList<RendezvousMember> Members) : RendezvousEvent;

    /// <summary>Time passed (checks the settle window).</summary>
    public sealed record Tick : RendezvousEvent;

    /// <summary>The active generation ends; members must join again.</summary>
    public sealed record Reopen : RendezvousEvent;

    /// <summary>
    /// The active generation lost <paramref name="Lost"/>: the survivors form the next generation at once, in their order,
    /// renumbered from 0, without a rendezvous (elastic recovery).
    /// </summary>
    public sealed record Regroup(IReadOnlyCollection<int> Lost) : RendezvousEvent;

    /// <summary>
    /// <paramref name="Members"/> (a replacement of a lost rank, already authenticated) ask to join the active generation:
    /// the next generation holds its ranks and them, ordered like a rendezvous (node id, local rank), at most
    /// <see cref="RendezvousOptions.RankLimit"/> in all (the rest wait as spares). The ranks of the active generation end it at a step boundary.
    /// </summary>
    public sealed record Admit(IReadOnlyList<RendezvousMember> Members) : RendezvousEvent;

    /// <summary>
    /// The active generation lost <paramref name="Lost"/> and too few survived: it ends, the survivors wait as members
    /// (keeping their state) and the next generation forms once <paramref name="Quorum"/> members wait (replacements
    /// join with <see cref="Join"/>), ordered like a rendezvous.
    /// </summary>
    public sealed record Hold(IReadOnlyCollection<int> Lost, int Quorum) : RendezvousEvent;

    /// <summary>
    /// The operator sets the worker count to <paramref name="Workers"/> (`cluster scale`). While a generation runs, fewer
    /// nodes than it holds: the last nodes (in rank order) leave; more: waiting spares are taken in, ordered like a
    /// rendezvous. Either forms the next generation, which the ranks enter at a step boundary (no rank was lost).
    /// </summary>
    public sealed record Scale(int Workers) : RendezvousEvent;

    /// <summary>
    /// Nodes <paramref name="NodeIds"/> leave the active generation at a step boundary (their agents stop): the next
    /// generation holds the other ranks in their order, renumbered from 0; refused when fewer than <c>workers.minRanks</c> remain.
    /// </summary>
    public sealed record Drain(IReadOnlyCollection<string> NodeIds) : RendezvousEvent;

    /// <summary>Waiting member <paramref name="MemberId"/> is gone (its process exited while survivors waited).</summary>
    public sealed record Leave(string MemberId) : RendezvousEvent;
}
