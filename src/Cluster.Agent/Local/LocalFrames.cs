using System.Buffers.Binary;
using MessagePack;
using MessagePack.Resolvers;

namespace Cluster.Agent.Local;

/// <summary>
/// Framing of the local channel: a 4-byte big-endian length, then one MessagePack <see cref="LocalMessage"/>. The length is
/// checked against <see cref="MaxFrameBytes"/> before anything is allocated; the body is decoded with MessagePack's
/// untrusted-data limits.
/// </summary>
internal static class LocalFrames
{
    /// <summary>Largest frame accepted (an assignment carries the restore manifest, O(world) file entries).</summary>
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    private static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(ContractlessStandardResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>Encodes one frame (header and body).</summary>
    public static byte[] Encode(LocalMessage message)
    {
        var body = MessagePackSerializer.Serialize(message, Options);
        if (body.Length > MaxFrameBytes) throw new InvalidOperationException($"local message of {body.Length} bytes exceeds {MaxFrameBytes}");
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>Writes one frame; callers serialise writers.</summary>
    public static async Task WriteAsync(Stream stream, LocalMessage message, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Encode(message), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one frame; null at a clean end of stream. Throws <see cref="InvalidDataException"/> on a bad frame.</summary>
    public static async Task<LocalMessage?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        if (!await FillAsync(stream, header, allowEnd: true, cancellationToken).ConfigureAwait(false)) return null;
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is <= 0 or > MaxFrameBytes) throw new InvalidDataException($"local frame length {length} outside 1..{MaxFrameBytes}");
        var body = new byte[length];
        await FillAsync(stream, body, allowEnd: false, cancellationToken).ConfigureAwait(false);
        try { return MessagePackSerializer.Deserialize<LocalMessage>(body, Options) ?? throw new InvalidDataException("local frame holds nil"); }
        catch (MessagePackSerializationException e) { throw new InvalidDataException($"local frame does not decode: {e.Message}", e); }
    }

    private static async Task<bool> FillAsync(Stream stream, byte[] buffer, bool allowEnd, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (allowEnd && read == 0) return false;
                throw new EndOfStreamException($"local channel closed inside a frame ({read} of {buffer.Length} bytes)");
            }
            read += n;
        }
        return true;
    }
}
