namespace Cluster.Collectives;

public enum ReduceOp
{
    Sum,
    /// <summary>Sum divided by the world size (integers: truncated toward zero).</summary>
    Average,
    Min,
    Max,
}
