using System.Security.Cryptography;
using System.Text;

namespace Cluster.Coordinator.Contracts;

/// <summary>
/// HMAC-SHA256 proof that a joining node agent knows the job secret, bound to the job and the node so a proof cannot be
/// replayed for another node. The agent joins for all its ranks at once (<see cref="NodeJoinRequest"/>).
/// </summary>
public static class JoinProof
{
    /// <summary>Lower-case hex HMAC-SHA256(secret, "cluster-join|jobId|nodeId").</summary>
    public static string Compute(string jobSecretBase64, string jobId, string nodeId)
    {
        byte[] secret;
        try { secret = Convert.FromBase64String(jobSecretBase64); }
        catch (FormatException e) { throw new ArgumentException("job secret is not valid base64", nameof(jobSecretBase64), e); }
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"cluster-join|{jobId}|{nodeId}")));
    }

    /// <summary>Constant-time check of <paramref name="proof"/>.</summary>
    public static bool Verify(string jobSecretBase64, string jobId, string nodeId, string? proof)
    {
        if (string.IsNullOrEmpty(proof)) return false;
        var expected = Encoding.ASCII.GetBytes(Compute(jobSecretBase64, jobId, nodeId));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(proof.ToLowerInvariant()));
    }
}
