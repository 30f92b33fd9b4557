namespace Cluster.Training.Data;

/// <summary>
/// A random-access labelled dataset. Implementations must be safe for concurrent <see cref="Get"/> calls
/// (the loader's worker threads call it in parallel) and must not allocate per call on the hot path.
/// </summary>
public interface IDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Labels are in [0, NumClasses).</summary>
    int NumClasses { get; }

    /// <summary>Shape of every sample (CHW).</summary>
    SampleShape Shape { get; }

    /// <summary>
    /// Writes sample <paramref name="index"/> as float32 CHW values in [0, 1] into <paramref name="destination"/>
    /// (length must be <see cref="SampleShape.Elements"/>) and returns its label.
    /// </summary>
    int Get(int index, Span<float> destination);

    /// <summary>The label of sample <paramref name="index"/> without decoding the sample.</summary>
    int GetLabel(int index);
}
