using System.Runtime.InteropServices;

namespace Cluster.Coordinator.Checkpoints;

/// <summary>Crash-safe replace of a small file: write a temp sibling, fsync it, rename over the target, fsync the directory.</summary>
public static class AtomicFile
{
    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="content"/>.</summary>
    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))
            ?? throw new ArgumentException($"'{path}' has no parent directory", nameof(path));
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(content, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        FsyncDirectory(directory);
    }

    private static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return; // NTFS rename is durable with the file flush; directories cannot be fsynced
        var fd = NativeMethods.Open(directory, NativeMethods.ReadOnlyDirectory);
        if (fd < 0) throw new IOException($"cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (NativeMethods.Fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }
}
