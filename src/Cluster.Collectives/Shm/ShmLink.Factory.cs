using System.Diagnostics;
using System.IO.MemoryMappedFiles;

namespace Cluster.Collectives.Shm;

internal sealed unsafe partial class ShmLink
{
    /// <summary>A fresh, unguessable link name (letters, digits and '-').</summary>
    public static string NewName(string prefix = "cluster-shm")
    {
        ShmLayout.ValidateName(prefix);
        return $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}";
    }

    /// <summary>Creates the link file /dev/shm/<paramref name="name"/> (mode 0600) with <paramref name="capacityBytes"/>
    /// per direction (a power of two) and maps it. The caller then sends <paramref name="name"/> to the peer.</summary>
    internal static ShmLink Create(string name, int peerRank, int capacityBytes) =>
        Create(DefaultDirectory, name, peerRank, capacityBytes);

    internal static ShmLink Create(string directory, string name, int peerRank, int capacityBytes)
    {
        ShmLayout.ValidateName(name);
        ShmLayout.ValidateCapacity(capacityBytes);
        var path = Path.Combine(directory, name);
        var length = ShmLayout.FileLength(capacityBytes);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var fs = new FileStream(path, options);
        MemoryMappedFile? mmf = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            fs.SetLength(length);
            mmf = MemoryMappedFile.CreateFromFile(fs, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            view = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
            var link = new ShmLink(mmf, view, path, isCreator: true, peerRank, capacityBytes);
            var b = link._base;
            *(int*)(b + ShmLayout.VersionOffset) = ShmLayout.Version;
            *(int*)(b + ShmLayout.CapacityOffset) = capacityBytes;
            Volatile.Write(ref *(int*)(b + ShmLayout.CreatorPidOffset), Environment.ProcessId);
            Volatile.Write(ref *(ulong*)(b + ShmLayout.MagicOffset), ShmLayout.Magic); // last: the header is complete
            return link;
        }
        catch
        {
            view?.Dispose();
            if (mmf is not null) mmf.Dispose(); else fs.Dispose();
            try { File.Delete(path); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Maps the link file another process created, validates its header, claims the opener side and
    /// unlinks the file. Waits up to <paramref name="timeout"/> for the file and its header to appear.</summary>
    internal static ShmLink Open(string name, int peerRank, TimeSpan timeout) =>
        Open(DefaultDirectory, name, peerRank, timeout);

    internal static ShmLink Open(string directory, string name, int peerRank, TimeSpan timeout)
    {
        ShmLayout.ValidateName(name);
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout));
        var path = Path.Combine(directory, name);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        string waitingFor;
        while (true)
        {
            waitingFor = TryOpen(path, peerRank, out var link);
            if (link is not null) return link;
            if (Stopwatch.GetTimestamp() >= deadline) break;
            Thread.Sleep(1);
        }
        throw new TimeoutException($"shared-memory link '{path}' to peer rank {peerRank}: {waitingFor} within {timeout.TotalSeconds:0.###} s");
    }

    /// <summary>Returns what it still waits for, or sets <paramref name="link"/>; throws for a header it must refuse.</summary>
    private static string TryOpen(string path, int peerRank, out ShmLink? link)
    {
        link = null;
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException) { return "the file did not appear"; }
        MemoryMappedFile? mmf = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            var length = fs.Length;
            if (length < ShmLayout.DataOffset) { fs.Dispose(); return "the header was not written"; }
            mmf = MemoryMappedFile.CreateFromFile(fs, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            view = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
            var magic = view.ReadUInt64(ShmLayout.MagicOffset);
            if (magic == 0) { view.Dispose(); mmf.Dispose(); return "the header was not written"; }
            if (magic != ShmLayout.Magic) throw Refuse(path, $"bad magic 0x{magic:X16}");
            var version = view.ReadInt32(ShmLayout.VersionOffset);
            if (version != ShmLayout.Version) throw Refuse(path, $"version {version}, expected {ShmLayout.Version}");
            var capacity = view.ReadInt32(ShmLayout.CapacityOffset);
            if (!ShmLayout.IsValidCapacity(capacity)) throw Refuse(path, $"invalid ring capacity {capacity}");
            if (length != ShmLayout.FileLength(capacity)) throw Refuse(path, $"file length {length} does not match capacity {capacity}");
            var created = new ShmLink(mmf, view, path, isCreator: false, peerRank, capacity);
            if (Interlocked.CompareExchange(ref *created._ownPid, Environment.ProcessId, 0) != 0)
            {
                created._unlinked = true; // not ours to delete
                created.Dispose();
                throw Refuse(path, "another process already opened it");
            }
            created.Unlink(); // both sides have mapped it now
            link = created;
            return "";
        }
        catch when (link is null)
        {
            view?.Dispose();
            if (mmf is not null) mmf.Dispose(); else fs.Dispose();
            throw;
        }
    }

    private static InvalidDataException Refuse(string path, string why) =>
        new($"refusing shared-memory link '{path}': {why}");
}
