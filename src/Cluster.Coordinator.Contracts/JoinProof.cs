using System.Security.Cryptography;
using System.Text;

namespace Cluster.Coordinator.Contracts;

/// <summary>
/// HMAC-SHA256 proof that a joining process knows the job secret, bound to the job, node and local rank
/// so a proof cannot be replayed for another member.
/// </summary>
public static class JoinProof
{
    /// <summary>Lower-case hex HMAC-SHA256(secret, "cluster-join|jobId|nodeId|localRank").</summary>
    public static string Compute(string jobSecretBase64, string jobId, string nodeId, int localRank)
    {
        byte[] secret;
        try { secret = Convert.FromBase64String(jobSecretBase64); }
        catch (FormatException e) { throw new ArgumentException("job secret is not valid base64", nameof(jobSecretBase64), e); }
        var message = Encoding.UTF8.GetBytes($"cluster-join|{jobId}|{nodeId}|{localRank}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret, message));
    }

    /// <summary>Constant-time check of <paramref name="proof"/>.</summary>
    public static bool Verify(string jobSecretBase64, string jobId, string nodeId, int localRank, string? proof)
    {
        if (string.IsNullOrEmpty(proof)) return false;
        var expected = Encoding.ASCII.GetBytes(Compute(jobSecretBase64, jobId, nodeId, localRank));
        var actual = Encoding.ASCII.GetBytes(proof.ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }
}
