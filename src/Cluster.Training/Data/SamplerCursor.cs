namespace Cluster.Training.Data;

/// <summary>
/// Where training stands in the data: <paramref name="GlobalPosition"/> samples of epoch
/// <paramref name="Epoch"/>'s global sequence have been consumed by ALL ranks together. It does not depend on
/// the world size, so a job may resume with a different number of ranks and still see each sample of the
/// epoch exactly once (see <see cref="DistributedSampler"/>).
/// </summary>
public sealed record SamplerCursor(int Epoch, long GlobalPosition)
{
    public static SamplerCursor Start { get; } = new(0, 0);

    /// <summary>The start of the following epoch.</summary>
    public SamplerCursor NextEpoch() => new(checked(Epoch + 1), 0);

    public void Validate()
    {
        if (Epoch < 0) throw new ArgumentOutOfRangeException(nameof(Epoch), Epoch, "Epoch must be non-negative.");
        if (GlobalPosition < 0) throw new ArgumentOutOfRangeException(nameof(GlobalPosition), GlobalPosition, "GlobalPosition must be non-negative.");
    }
}
