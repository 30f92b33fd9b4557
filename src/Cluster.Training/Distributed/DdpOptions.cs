namespace Cluster.Training.Distributed;

/// <summary>Options of <see cref="DistributedDataParallel"/>.</summary>
public sealed record DdpOptions
{
    /// <summary>Gradient bucket capacity in bytes (float32); one all-reduce per bucket. Default 25 MB as in PyTorch.</summary>
    public int BucketBytes { get; init; } = 25 * 1024 * 1024;

    /// <summary>false (default): BatchNorm running statistics are broadcast from rank 0 after every step.
    /// true: they are all-reduced (averaged) instead, so every rank's statistics contribute.</summary>
    public bool SyncBatchNormStats { get; init; }

    /// <summary>Informational: the communicator was created with CompressFloat32AsBFloat16 (gradients travel as bf16).</summary>
    public bool GradientsCompressedAsBFloat16 { get; init; }

    public void Validate()
    {
        if (BucketBytes < 1024) throw new ArgumentOutOfRangeException(nameof(BucketBytes), BucketBytes, "bucket must be at least 1024 bytes");
    }
}
