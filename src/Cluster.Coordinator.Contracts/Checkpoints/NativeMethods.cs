using System.Runtime.InteropServices;

namespace Cluster.Coordinator.Contracts.Checkpoints;

/// <summary>libc calls .NET does not expose: fsync of a directory (makes a rename durable).</summary>
internal static partial class NativeMethods
{
    /// <summary>O_RDONLY (0 on Linux and macOS); enough to open a directory for fsync.</summary>
    internal const int ReadOnlyDirectory = 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    internal static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);
}
