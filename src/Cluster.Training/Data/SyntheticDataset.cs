using Cluster.Coordinator.Contracts.Data;

namespace Cluster.Training.Data;

/// <summary>
/// Deterministic, learnable synthetic data: each class has a smooth sinusoidal prototype image
/// (frequency, orientation and phase drawn from the seed), every sample is its class prototype plus Gaussian
/// noise. Sample <c>i</c> depends only on (seed, i), so any rank regenerates identical data.
/// </summary>
public sealed class SyntheticDataset : IDataset
{
    private readonly float[] _prototypes;
    private readonly ulong _seed;
    private readonly float _noise;

    public SyntheticDataset(SyntheticDatasetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Shape = options.Shape;
        NumClasses = options.NumClasses;
        Count = options.Count;
        _seed = options.Seed;
        _noise = options.Noise;
        _prototypes = BuildPrototypes(options);
    }

    public int Count { get; }
    public int NumClasses { get; }
    public SampleShape Shape { get; }

    public int Get(int index, Span<float> destination)
    {
        DatasetGuard.CheckGet(this, index, destination);
        var rng = new SplitMix64(SplitMix64.Combine(_seed, 0x5A11_9E5UL, (ulong)index));
        int label = rng.NextInt(NumClasses);
        ReadOnlySpan<float> proto = _prototypes.AsSpan(label * Shape.Elements, Shape.Elements);
        for (int i = 0; i < proto.Length; i++)
        {
            float v = proto[i] + _noise * rng.NextGaussian();
            destination[i] = v < 0f ? 0f : v > 1f ? 1f : v;
        }
        return label;
    }

    public int GetLabel(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"Index must be in [0, {Count}).");
        var rng = new SplitMix64(SplitMix64.Combine(_seed, 0x5A11_9E5UL, (ulong)index));
        return rng.NextInt(NumClasses);
    }

    private static float[] BuildPrototypes(SyntheticDatasetOptions o)
    {
        var shape = o.Shape;
        var result = new float[o.NumClasses * shape.Elements];
        for (int c = 0; c < o.NumClasses; c++)
        {
            var rng = new SplitMix64(SplitMix64.Combine(o.Seed, 0xC1A55UL, (ulong)c));
            double angle = rng.NextDouble() * Math.PI;
            double freq = 1.0 + rng.NextDouble() * 3.0; // cycles across the image
            double phase = rng.NextDouble() * 2 * Math.PI;
            int off = c * shape.Elements;
            for (int ch = 0; ch < shape.Channels; ch++)
            {
                double chPhase = phase + ch * rng.NextDouble() * Math.PI;
                for (int y = 0; y < shape.Height; y++)
                {
                    for (int x = 0; x < shape.Width; x++)
                    {
                        double u = (x / (double)shape.Width) * Math.Cos(angle) + (y / (double)shape.Height) * Math.Sin(angle);
                        result[off++] = (float)(0.5 + 0.4 * Math.Sin(2 * Math.PI * freq * u + chPhase));
                    }
                }
            }
        }
        return result;
    }
}
