using System.Security.Cryptography;
using System.Text;

namespace Cluster.Agent.Local;

/// <summary>
/// Mutual proof of the job secret on the local channel: HMAC-SHA256(secret, "cluster-local|role|jobId|nodeId|localRank|nonce").
/// The role ("rank" or "agent") keeps one side's proof from being replayed as the other's; nonces are fresh per connection.
/// </summary>
internal static class LocalProof
{
    public const int NonceBytes = 32;

    public static string Compute(byte[] secret, string role, string jobId, string nodeId, int localRank, byte[] nonce) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"cluster-local|{role}|{jobId}|{nodeId}|{localRank}|{Convert.ToHexStringLower(nonce)}")));

    public static bool Verify(byte[] secret, string role, string jobId, string nodeId, int localRank, byte[] nonce, string? proof) =>
        proof is { Length: > 0 } && nonce is { Length: NonceBytes }
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(secret, role, jobId, nodeId, localRank, nonce)),
            Encoding.ASCII.GetBytes(proof.ToLowerInvariant()));
}
