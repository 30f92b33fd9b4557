using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Cluster.Coordinator.Contracts.Checkpoints;

/// <summary>
/// The one crash-safe file publication of the project: write a temp sibling, fsync it, rename it over the target,
/// fsync the directory. <see cref="WriteHashed"/> also computes the SHA-256 of what it streams (hash while writing, no
/// second read).
/// </summary>
public static class AtomicFile
{
    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="content"/> and makes the rename durable.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        using var temp = new TempSibling(path);
        using (var stream = temp.Open())
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        temp.Publish();
        SyncDirectory(temp.Directory);
    }

    /// <summary>Async form of <see cref="Write"/> (grain storage).</summary>
    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var temp = new TempSibling(path);
        await using (var stream = temp.Open())
        {
            await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
        temp.Publish();
        SyncDirectory(temp.Directory);
    }

    /// <summary>
    /// Streams <paramref name="write"/>'s output into a temp sibling while hashing it, fsyncs, renames over
    /// <paramref name="path"/> (the directory is not fsynced: call <see cref="SyncDirectory"/> once after a batch).
    /// Returns the size and the lowercase hex SHA-256 of the bytes written.
    /// </summary>
    public static (long Size, string Sha256) WriteHashed(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var temp = new TempSibling(path);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size;
        using (var file = temp.Open())
        {
            using (var hashing = new HashingStream(file, hash)) write(hashing);
            file.Flush(flushToDisk: true);
            size = file.Length;
        }
        temp.Publish();
        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>Makes renames and creations inside <paramref name="directory"/> durable (POSIX; a no-op elsewhere).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var fd = NativeMethods.Open(directory, NativeMethods.ReadOnlyDirectory);
        if (fd < 0) throw new IOException($"cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (NativeMethods.Fsync(fd) != 0) throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    /// <summary>A temp file next to the target, removed on dispose unless published.</summary>
    private sealed class TempSibling : IDisposable
    {
        private readonly string _target;
        private readonly string _temp;
        private bool _published;

        public TempSibling(string path)
        {
            _target = Path.GetFullPath(path);
            Directory = Path.GetDirectoryName(_target) ?? throw new ArgumentException($"'{path}' has no parent directory", nameof(path));
            _temp = Path.Combine(Directory, $".{Path.GetFileName(_target)}.{Guid.NewGuid():N}.tmp");
        }

        public string Directory { get; }

        public FileStream Open() => new(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);

        public void Publish()
        {
            File.Move(_temp, _target, overwrite: true);
            _published = true;
        }

        public void Dispose()
        {
            if (!_published && File.Exists(_temp)) File.Delete(_temp);
        }
    }

    /// <summary>Write-only pass-through that feeds every byte to a hash.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void WriteByte(byte value) => Write([value]);

        protected override void Dispose(bool disposing) { /* the caller owns the file */ }
    }
}
