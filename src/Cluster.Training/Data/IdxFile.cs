using System.Buffers.Binary;
using System.IO.Compression;

namespace Cluster.Training.Data;

/// <summary>
/// Reads an IDX file (the MNIST format: big-endian magic 0x0000 TT DD, DD big-endian int32 dimensions, then data)
/// of unsigned bytes, optionally gzip-compressed. Sizes are validated against the header before allocating.
/// </summary>
public static class IdxFile
{
    /// <summary>Largest payload accepted (guards against allocating from a corrupt header).</summary>
    public const long MaxPayloadBytes = 1L << 31;

    public const int UByteImagesMagic = 0x00000803;
    public const int UByteLabelsMagic = 0x00000801;

    /// <summary>Reads the file and checks that its magic equals <paramref name="expectedMagic"/>.</summary>
    public static (int[] Dimensions, byte[] Data) ReadUBytes(string path, int expectedMagic)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {path}", path);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                ? new GZipStream(file, CompressionMode.Decompress)
                : file;
            return Read(stream, path, expectedMagic);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"Corrupt compressed data in {path}: {ex.Message}", ex);
        }
    }

    private static (int[] Dimensions, byte[] Data) Read(Stream stream, string path, int expectedMagic)
    {
        Span<byte> four = stackalloc byte[4];
        if (!TryReadExactly(stream, four))
            throw new InvalidDataException($"Truncated IDX header in {path}: fewer than 4 bytes.");
        int magic = BinaryPrimitives.ReadInt32BigEndian(four);
        if (magic != expectedMagic)
            throw new InvalidDataException($"Bad magic 0x{magic:X8} in {path}, expected 0x{expectedMagic:X8}.");
        int rank = magic & 0xFF;
        var dims = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            if (!TryReadExactly(stream, four))
                throw new InvalidDataException($"Truncated IDX header in {path}: missing dimension {i} of {rank}.");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(four);
            if (dims[i] <= 0)
                throw new InvalidDataException($"Bad dimension {i} = {dims[i]} in {path}; dimensions must be positive.");
            elements *= dims[i];
            if (elements > MaxPayloadBytes)
                throw new InvalidDataException($"IDX header of {path} declares more than {MaxPayloadBytes} bytes of data ({string.Join("x", dims[..(i + 1)])}...).");
        }
        var data = new byte[elements];
        int read = ReadUpTo(stream, data);
        if (read < data.Length)
            throw new InvalidDataException($"Truncated data in {path}: header declares {string.Join("x", dims)} = {elements} bytes, file holds {read}.");
        if (stream.ReadByte() >= 0)
            throw new InvalidDataException($"Trailing bytes in {path}: more data than the header's {string.Join("x", dims)} = {elements} bytes.");
        return (dims, data);
    }

    private static bool TryReadExactly(Stream stream, Span<byte> buffer) => ReadUpTo(stream, buffer) == buffer.Length;

    private static int ReadUpTo(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
