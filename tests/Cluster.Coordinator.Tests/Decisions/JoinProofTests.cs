using System.Security.Cryptography;
using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class JoinProofTests
{
    private static readonly string Secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void ProofVerifiesOnlyForTheSameSecretJobAndNode()
    {
        var proof = JoinProof.Compute(Secret, "job", "node");
        Assert.True(JoinProof.Verify(Secret, "job", "node", proof));
        Assert.False(JoinProof.Verify(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), "job", "node", proof));
        Assert.False(JoinProof.Verify(Secret, "job", "other", proof));
        Assert.False(JoinProof.Verify(Secret, "job2", "node", proof));
        Assert.False(JoinProof.Verify(Secret, "job", "node", ""));
    }
}
