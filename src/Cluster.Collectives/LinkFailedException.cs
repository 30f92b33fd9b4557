namespace Cluster.Collectives;

/// <summary>Raised inside the engine when a link to <see cref="PeerRank"/> broke or carried something invalid;
/// the communicator turns it into a <see cref="PeerFailedException"/> naming the operation and generation.</summary>
internal sealed class LinkFailedException(int peerRank, string message, Exception? inner = null) : Exception(message, inner)
{
    public int PeerRank { get; } = peerRank;
}
