namespace Cluster.Coordinator.Contracts.Data;

/// <summary>
/// Small, fast, seedable PRNG (SplitMix64). Implemented here so sampling and augmentation never change
/// when a library's RNG changes. A mutable struct: pass by <c>ref</c>.
/// </summary>
public struct SplitMix64
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    public SplitMix64(ulong seed) => State = seed;

    /// <summary>The full generator state; saving and restoring it resumes the exact sequence.</summary>
    public ulong State { get; set; }

    public ulong NextUInt64()
    {
        State += Gamma;
        return Mix(State);
    }

    /// <summary>Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be positive.");
        ulong b = (ulong)bound;
        while (true)
        {
            ulong x = NextUInt64() >> 32;          // 32 random bits
            ulong m = x * b;                        // < 2^63
            ulong low = m & 0xFFFFFFFFUL;
            if (low >= b || low >= (0x1_0000_0000UL - b) % b) return (int)(m >> 32);
        }
    }

    /// <summary>Uniform in [0, 1) with 53 bits of precision.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) as float (24 bits).</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Approximately standard normal (Box–Muller, one value per call).</summary>
    public float NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>The SplitMix64 finaliser: a bijective 64-bit mixer.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Derives an independent seed from a tuple of integers (order matters).</summary>
    public static ulong Combine(ulong a, ulong b) => Mix(a ^ Mix(b + Gamma));

    public static ulong Combine(ulong a, ulong b, ulong c) => Combine(Combine(a, b), c);

    public static ulong Combine(ulong a, ulong b, ulong c, ulong d) => Combine(Combine(Combine(a, b), c), d);
}
