using Cluster.Coordinator.Contracts.Data;

namespace Cluster.Training.Data;

/// <summary>Applies <see cref="TransformOptions"/> in place to one CHW sample; no allocation per call.</summary>
public sealed class SampleTransform
{
    private readonly TransformOptions _o;
    private readonly SampleShape _shape;
    private readonly float[]? _mean;
    private readonly float[]? _invStd;

    public SampleTransform(TransformOptions options, SampleShape shape)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(shape);
        _o = options;
        _shape = shape;
        if (options.Mean is not null && options.Std is not null)
        {
            _mean = new float[shape.Channels];
            _invStd = new float[shape.Channels];
            for (int c = 0; c < shape.Channels; c++)
            {
                int k = options.Mean.Count == 1 ? 0 : c;
                _mean[c] = options.Mean[k];
                _invStd[c] = 1f / options.Std[k];
            }
        }
    }

    /// <summary><paramref name="scratch"/> must hold at least one sample.</summary>
    public void Apply(Span<float> sample, Span<float> scratch, ref SplitMix64 rng)
    {
        int h = _shape.Height, w = _shape.Width, plane = h * w;
        if (_o.CropPadding > 0)
        {
            int p = _o.CropPadding;
            int dy = rng.NextInt(2 * p + 1) - p, dx = rng.NextInt(2 * p + 1) - p;
            sample.CopyTo(scratch);
            for (int c = 0; c < _shape.Channels; c++)
            {
                for (int y = 0; y < h; y++)
                {
                    int sy = y + dy;
                    for (int x = 0; x < w; x++)
                    {
                        int sx = x + dx;
                        sample[c * plane + y * w + x] = (uint)sy < (uint)h && (uint)sx < (uint)w ? scratch[c * plane + sy * w + sx] : 0f;
                    }
                }
            }
        }
        if (_o.HorizontalFlip && (rng.NextUInt64() & 1) == 1)
        {
            for (int row = 0; row < _shape.Channels * h; row++) sample.Slice(row * w, w).Reverse();
        }
        if (_o.RotationDegrees > 0) Rotate(sample, scratch, (rng.NextSingle() * 2 - 1) * _o.RotationDegrees);
        if (_shape.Channels == 3 && (_o.Brightness > 0 || _o.Contrast > 0 || _o.Saturation > 0)) Jitter(sample, ref rng);
        if (_mean is not null && _invStd is not null)
        {
            for (int c = 0; c < _shape.Channels; c++)
            {
                var ch = sample.Slice(c * plane, plane);
                float m = _mean[c], s = _invStd[c];
                for (int i = 0; i < ch.Length; i++) ch[i] = (ch[i] - m) * s;
            }
        }
    }

    private void Rotate(Span<float> sample, Span<float> scratch, float degrees)
    {
        int h = _shape.Height, w = _shape.Width, plane = h * w;
        sample.CopyTo(scratch);
        double rad = degrees * Math.PI / 180.0;
        float cos = (float)Math.Cos(rad), sin = (float)Math.Sin(rad);
        float cy = (h - 1) / 2f, cx = (w - 1) / 2f;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                // inverse mapping: where does output (x, y) come from?
                float rx = x - cx, ry = y - cy;
                float sx = cos * rx + sin * ry + cx;
                float sy = -sin * rx + cos * ry + cy;
                int x0 = (int)MathF.Floor(sx), y0 = (int)MathF.Floor(sy);
                float fx = sx - x0, fy = sy - y0;
                for (int c = 0; c < _shape.Channels; c++)
                {
                    var src = scratch.Slice(c * plane, plane);
                    float v = Pixel(src, x0, y0, w, h) * (1 - fx) * (1 - fy) + Pixel(src, x0 + 1, y0, w, h) * fx * (1 - fy)
                            + Pixel(src, x0, y0 + 1, w, h) * (1 - fx) * fy + Pixel(src, x0 + 1, y0 + 1, w, h) * fx * fy;
                    sample[c * plane + y * w + x] = v;
                }
            }
        }
    }

    private static float Pixel(Span<float> plane, int x, int y, int w, int h) =>
        (uint)x < (uint)w && (uint)y < (uint)h ? plane[y * w + x] : 0f;

    private void Jitter(Span<float> sample, ref SplitMix64 rng)
    {
        int plane = _shape.Height * _shape.Width;
        var r = sample[..plane];
        var g = sample.Slice(plane, plane);
        var b = sample.Slice(2 * plane, plane);
        float bf = Factor(_o.Brightness, ref rng), cf = Factor(_o.Contrast, ref rng), sf = Factor(_o.Saturation, ref rng);
        float meanGray = 0;
        for (int i = 0; i < plane; i++) meanGray += 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
        meanGray = meanGray * bf / plane;
        for (int i = 0; i < plane; i++)
        {
            float rr = r[i] * bf, gg = g[i] * bf, bb = b[i] * bf;
            rr = (rr - meanGray) * cf + meanGray; gg = (gg - meanGray) * cf + meanGray; bb = (bb - meanGray) * cf + meanGray;
            float gray = 0.299f * rr + 0.587f * gg + 0.114f * bb;
            r[i] = Clamp01(gray + (rr - gray) * sf);
            g[i] = Clamp01(gray + (gg - gray) * sf);
            b[i] = Clamp01(gray + (bb - gray) * sf);
        }
    }

    private static float Factor(float range, ref SplitMix64 rng) => range > 0 ? 1 + (rng.NextSingle() * 2 - 1) * range : 1f;

    private static float Clamp01(float v) => v < 0f ? 0f : v > 1f ? 1f : v;
}
