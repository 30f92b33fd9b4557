namespace Cluster.Abstractions;

/// <summary>Data-parallel settings: gradient bucket size, BatchNorm statistics averaging (instead of rank 0's), and
/// bf16 compression of the float32 gradient all-reduce (half the bytes, ~3 significant digits).</summary>
public sealed class DdpSpec
{
    public double BucketMb { get; set; } = 25;
    public bool SyncBatchNorm { get; set; }
    public bool CompressBf16 { get; set; }

    /// <summary><see cref="BucketMb"/> in bytes: the bucket size every rank (and the audit replay) lays gradients out by.</summary>
    public int BucketBytes() => (int)(BucketMb * 1024 * 1024);

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (!(BucketMb >= 0.001 && BucketMb <= 1024)) errors.Add(new($"{path}.bucketMb", $"must be in [0.001, 1024] (got {BucketMb})"));
    }
}
