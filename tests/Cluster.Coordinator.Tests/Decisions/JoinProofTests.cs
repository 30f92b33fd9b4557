using System.Security.Cryptography;
using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class JoinProofTests
{
    private static readonly string Secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void ProofVerifiesOnlyForTheSameSecretJobNodeAndLocalRank()
    {
        var proof = JoinProof.Compute(Secret, "job", "node", 1);
        Assert.True(JoinProof.Verify(Secret, "job", "node", 1, proof));
        Assert.False(JoinProof.Verify(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), "job", "node", 1, proof));
        Assert.False(JoinProof.Verify(Secret, "job", "node", 0, proof));
        Assert.False(JoinProof.Verify(Secret, "job", "other", 1, proof));
        Assert.False(JoinProof.Verify(Secret, "job2", "node", 1, proof));
        Assert.False(JoinProof.Verify(Secret, "job", "node", 1, ""));
    }
}
