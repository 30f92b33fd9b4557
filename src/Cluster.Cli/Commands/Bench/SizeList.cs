using System.Globalization;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Parses "4K,256K,4M,16M,64M,1000": K/M/G are binary (KiB, MiB, GiB), plain numbers are bytes.</summary>
internal static class SizeList
{
    public static IReadOnlyList<long> Parse(string text, int elementSize)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new UsageException("--sizes is empty");
        var sizes = new List<long>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var multiplier = char.ToUpperInvariant(raw[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1L };
            var digits = multiplier == 1 ? raw : raw[..^1];
            if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw new UsageException($"--sizes: '{raw}' is not a size (examples: 4096, 4K, 16M)");
            var bytes = checked(n * multiplier);
            if (bytes % elementSize != 0)
                throw new UsageException($"--sizes: {raw} = {bytes} bytes is not a multiple of the element size {elementSize}");
            if (bytes > (1L << 31)) throw new UsageException($"--sizes: {raw} is larger than the 2 GiB limit");
            sizes.Add(bytes);
        }
        return sizes;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}M",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}K",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };
}
