namespace Cluster.Agent.Local;

/// <summary>The agent's way to one rank: a socket link in production, an in-memory one in the control-plane benchmark.</summary>
public interface IRankOutbox
{
    /// <summary>Sends <paramref name="message"/> to the rank; a rank that is gone is ignored (its exit is reported separately).</summary>
    Task SendAsync(LocalMessage message, CancellationToken cancellationToken);
}
