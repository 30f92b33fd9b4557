namespace Cluster.Coordinator.Decisions;

/// <summary>Inputs of <see cref="RendezvousDecider"/>.</summary>
public abstract record RendezvousEvent
{
    /// <summary>A member (already authenticated) joins.</summary>
    public sealed record Join(RendezvousMember Member) : RendezvousEvent;

    /// <summary>Time passed (checks the settle window).</summary>
    public sealed record Tick : RendezvousEvent;

    /// <summary>The active generation ends; members must join again (used by recovery).</summary>
    public sealed record Reopen : RendezvousEvent;
}
