using System.Buffers;
using MessagePack;

namespace Cluster.Training.Distributed;

/// <summary>One named part of a transferred training state: its length and SHA-256.</summary>
public sealed record StatePart(string Name, long Length, byte[] Sha256);

/// <summary>
/// The MessagePack directory that precedes a state transfer: <c>[1, step, [[name, length, sha256], ...]]</c>. A receiver
/// reads it before it allocates anything for the payload; <see cref="Unpack"/> checks every count and length against
/// the limits it is given.
/// </summary>
public static class StateDirectory
{
    private const int Version = 1;
    public const int MaxParts = 64;
    public const int MaxNameLength = 128;

    public static byte[] Pack(long step, IReadOnlyList<StatePart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count > MaxParts) throw new ArgumentException($"at most {MaxParts} parts", nameof(parts));
        var buffer = new ArrayBufferWriter<byte>(64 + parts.Count * 64);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(Version);
        writer.Write(step);
        writer.WriteArrayHeader(parts.Count);
        foreach (var part in parts)
        {
            writer.WriteArrayHeader(3);
            writer.Write(part.Name);
            writer.Write(part.Length);
            writer.Write(part.Sha256);
        }
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Unpacks a directory; throws <see cref="FormatException"/> on bad input or parts beyond <paramref name="maxTotalBytes"/>.</summary>
    public static (long Step, IReadOnlyList<StatePart> Parts) Unpack(ReadOnlyMemory<byte> packed, long maxTotalBytes)
    {
        try
        {
            var reader = new MessagePackReader(packed);
            Expect(reader.ReadArrayHeader() == 3, "a 3-element directory");
            Expect(reader.ReadInt32() == Version, $"format version {Version}");
            var step = reader.ReadInt64();
            var count = reader.ReadArrayHeader();
            Expect(count <= MaxParts, $"at most {MaxParts} parts (got {count})");
            var parts = new List<StatePart>(count);
            long total = 0;
            for (var i = 0; i < count; i++)
            {
                Expect(reader.ReadArrayHeader() == 3, "a 3-element part");
                var name = reader.ReadString() ?? throw new FormatException("state directory: a part name is nil");
                Expect(name.Length is > 0 and <= MaxNameLength, $"a part name of 1..{MaxNameLength} characters");
                var length = reader.ReadInt64();
                Expect(length >= 0 && length <= maxTotalBytes - total, $"parts of at most {maxTotalBytes} bytes in all");
                total += length;
                var sha = reader.ReadBytes() is { } seq ? seq.ToArray() : throw new FormatException("state directory: a checksum is nil");
                Expect(sha.Length == 32, "a 32-byte SHA-256");
                parts.Add(new StatePart(name, length, sha));
            }
            Expect(reader.End, "nothing after the directory");
            return (step, parts);
        }
        catch (MessagePackSerializationException e)
        {
            throw new FormatException($"state directory: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException("state directory: truncated", e);
        }
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition) throw new FormatException($"state directory: expected {what}");
    }
}
