using Cluster.Coordinator.Checkpoints;
using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class CheckpointStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "coord-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private CheckpointManifest Manifest(long size) =>
        new("job", 1, 1, 10, 1, new EpochPlan(1, 0, 8), _dir, DateTimeOffset.UnixEpoch,
            [new RankCheckpointFiles(0, [new CheckpointFile("rank0.pt", size, new string('0', 64))])]);

    [Fact]
    public async Task CommitWritesAReadableManifestAndLeavesNoTempFiles()
    {
        Directory.CreateDirectory(_dir);
        await File.WriteAllBytesAsync(Path.Combine(_dir, "rank0.pt"), new byte[5]);
        await new CheckpointStore().CommitAsync(Manifest(5), CancellationToken.None);
        var read = await CheckpointStore.ReadAsync(_dir, CancellationToken.None);
        Assert.NotNull(read);
        Assert.Equal(8, read.EpochPlan.Cursor);
        Assert.Equal("rank0.pt", read.Ranks[0].Files[0].Name);
        Assert.Equal(["manifest.json", "rank0.pt"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task SizeMismatchOrMissingFileRefusesToCommit()
    {
        Directory.CreateDirectory(_dir);
        var missing = await Assert.ThrowsAsync<InvalidDataException>(() => new CheckpointStore().CommitAsync(Manifest(5), CancellationToken.None));
        Assert.Contains("does not exist", missing.Message);
        await File.WriteAllBytesAsync(Path.Combine(_dir, "rank0.pt"), new byte[4]);
        var wrong = await Assert.ThrowsAsync<InvalidDataException>(() => new CheckpointStore().CommitAsync(Manifest(5), CancellationToken.None));
        Assert.Contains("has 4", wrong.Message);
        Assert.Null(await CheckpointStore.ReadAsync(_dir, CancellationToken.None));
    }

    [Fact]
    public void DeleteRemovesTheDirectory()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "rank0.pt"), "x");
        CheckpointStore.Delete(_dir);
        Assert.False(Directory.Exists(_dir));
        CheckpointStore.Delete(_dir); // idempotent
    }
}
