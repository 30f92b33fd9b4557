using System.Security.Cryptography;
using Cluster.Abstractions;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;

namespace Cluster.Coordinator.Tests.Decisions;

/// <summary>The one checkpoint layout: commit, read, byte-for-byte verification, lineage scan with fallback, spec match.</summary>
public sealed class CheckpointFilesTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "coord-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static readonly IReadOnlyList<SpecField> Fields = CheckpointLineage.FieldsOf(JobSpecLoader.Parse("name: lin\ntraining: { seed: 3 }\n"));

    /// <summary>Writes checkpoint <paramref name="id"/> with one file of <paramref name="bytes"/> and commits it.</summary>
    private CheckpointManifest Commit(long id, byte[] bytes, bool final = false)
    {
        var dir = CheckpointFiles.DirectoryOf(_root, id);
        Directory.CreateDirectory(dir);
        var (size, sha) = AtomicFile.WriteHashed(Path.Combine(dir, "model.bin"), s => s.Write(bytes));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), sha); // hashed while writing = hash of the bytes on disk
        return CheckpointFiles.Commit(new CheckpointManifest("job", id, 1, id * 10, 2, new EpochPlan(3, 0, id * 64), dir, DateTimeOffset.UnixEpoch,
            [new RankCheckpointFiles(0, [new CheckpointFile("model.bin", size, sha)])]) { Lineage = "lin", SpecFields = Fields, Final = final });
    }

    [Fact]
    public void Commit_writes_a_manifest_that_reads_back_and_leaves_no_temp_files()
    {
        var m = Commit(1, [1, 2, 3, 4, 5]);
        var read = CheckpointFiles.TryRead(m.Directory)!;
        Assert.Equal(64, read.EpochPlan.Cursor);
        Assert.Equal(m.Checksum, read.Checksum);
        Assert.Equal(Fields, read.SpecFields);
        Assert.Equal(["manifest.json", "model.bin"], Directory.GetFiles(m.Directory).Select(Path.GetFileName).Order());
        CheckpointFiles.Verify(read);
        Assert.Null(CheckpointFiles.TryRead(_root)); // no manifest: never committed
    }

    [Fact]
    public void A_missing_or_short_file_refuses_to_commit()
    {
        var dir = CheckpointFiles.DirectoryOf(_root, 1);
        Directory.CreateDirectory(dir);
        CheckpointManifest M(long size) => new("job", 1, 1, 10, 1, new EpochPlan(1, 0, 8), dir, DateTimeOffset.UnixEpoch,
            [new RankCheckpointFiles(0, [new CheckpointFile("model.bin", size, new string('0', 64))])]);
        Assert.Contains("does not exist", Assert.Throws<CheckpointCorruptException>(() => CheckpointFiles.Commit(M(5))).Message);
        File.WriteAllBytes(Path.Combine(dir, "model.bin"), new byte[4]);
        Assert.Contains("has 4", Assert.Throws<CheckpointCorruptException>(() => CheckpointFiles.Commit(M(5))).Message);
        Assert.Null(CheckpointFiles.TryRead(dir));
        Assert.Throws<CheckpointCorruptException>(() => CheckpointFiles.Commit(M(4) with
        {
            Ranks = [new RankCheckpointFiles(0, [new CheckpointFile("../escape", 4, "")])],
        }));
    }

    [Fact]
    public void Every_byte_of_a_file_and_of_the_manifest_is_protected()
    {
        var m = Commit(1, Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());
        var model = Path.Combine(m.Directory, "model.bin");
        var good = File.ReadAllBytes(model);
        var flipped = (byte[])good.Clone();
        flipped[31] ^= 0x20;
        File.WriteAllBytes(model, flipped);
        Assert.Equal(model, Assert.Throws<CheckpointCorruptException>(() => CheckpointFiles.Verify(m)).FilePath);
        File.WriteAllBytes(model, good[..^1]);
        Assert.Contains("truncated", Assert.Throws<CheckpointCorruptException>(() => CheckpointFiles.Verify(m)).Message);
        File.WriteAllBytes(model, good);
        var manifest = Path.Combine(m.Directory, CheckpointFiles.ManifestFileName);
        var text = File.ReadAllBytes(manifest);
        // The recorded directory is informational (a manifest is read where it lies now): a flip there may be accepted,
        // and then reads back as the same manifest. Every other byte is protected.
        var json = System.Text.Encoding.UTF8.GetString(text);
        var dirStart = json.IndexOf("\"directory\": \"", StringComparison.Ordinal) + "\"directory\": \"".Length;
        var dirEnd = json.IndexOf('"', dirStart);
        Assert.True(dirStart > 20 && dirEnd > dirStart, json);
        var original = CheckpointFiles.TryRead(m.Directory)!;
        for (var at = 0; at < text.Length; at++)
        {
            var bytes = (byte[])text.Clone();
            bytes[at] ^= 0x20;
            File.WriteAllBytes(manifest, bytes);
            var e = Record.Exception(() => CheckpointFiles.TryRead(m.Directory));
            if (at >= dirStart && at < dirEnd && e is null) Assert.Equal(original.Checksum, CheckpointFiles.TryRead(m.Directory)!.Checksum);
            else Assert.True(e is CheckpointCorruptException c && c.FilePath == manifest, $"byte {at} ('{(char)text[at]}') flipped was accepted: {e}");
        }
        File.WriteAllBytes(manifest, text);
        CheckpointFiles.Verify(CheckpointFiles.TryRead(m.Directory)!);
    }

    [Fact]
    public void Scan_skips_a_corrupt_newest_checkpoint_and_ignores_uncommitted_directories()
    {
        Commit(1, [1]);
        Commit(2, [2, 2]);
        var newest = Commit(3, [3, 3, 3]);
        Directory.CreateDirectory(CheckpointFiles.DirectoryOf(_root, 5)); // a crash before the manifest
        File.WriteAllBytes(Path.Combine(newest.Directory, "model.bin"), [9, 9, 9]);
        var scan = CheckpointLineage.Scan(_root, keep: 3);
        Assert.Equal(2, scan.Latest!.CheckpointId);
        Assert.Equal([1L, 2L], scan.Committed.Select(c => c.CheckpointId));
        Assert.Equal(5, scan.LastCheckpointId); // new ids continue after every directory seen
        Assert.Contains("checkpoint 3 is not usable", Assert.Single(scan.Skipped));
        Assert.Contains("model.bin", scan.Skipped[0]);
        Assert.Equal(LineageScan.Empty.Committed, CheckpointLineage.Scan(Path.Combine(_root, "nothing"), 3).Committed);
    }

    [Fact]
    public void A_spec_with_another_model_or_seed_is_refused_naming_the_field()
    {
        var m = Commit(1, [1], final: true);
        Assert.True(CheckpointFiles.TryRead(m.Directory)!.Final);
        Assert.Null(CheckpointLineage.Mismatch(m, Fields));
        var otherModel = CheckpointLineage.FieldsOf(JobSpecLoader.Parse("name: lin\ntraining: { seed: 3, model: { type: cnn } }\n"));
        Assert.StartsWith("training.model differs", CheckpointLineage.Mismatch(m, otherModel));
        var otherSeed = CheckpointLineage.FieldsOf(JobSpecLoader.Parse("name: lin\ntraining: { seed: 4 }\n"));
        Assert.StartsWith("training.seed differs", CheckpointLineage.Mismatch(m, otherSeed));
        Assert.Contains("--fresh", CheckpointLineage.Mismatch(m, otherSeed));
        Assert.Equal("checkpoint 1 at step 10 (epoch 1, position 64)", CheckpointLineage.Describe(m));
    }

    [Fact]
    public void Delete_removes_the_directory_and_is_idempotent()
    {
        var m = Commit(1, [1]);
        CheckpointFiles.Delete(m.Directory);
        Assert.False(Directory.Exists(m.Directory));
        CheckpointFiles.Delete(m.Directory);
    }
}
