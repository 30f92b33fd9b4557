using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// Commit without a coordinator (`cluster run --static`, benchmarks, single-process use): the one writing rank's ack
/// commits at once, into the same <c>lineageRoot/ckpt-N</c> layout and manifest the coordinator writes, and committed
/// checkpoints beyond keep-last are deleted. New ids continue after the highest one found on disk.
/// </summary>
public sealed class LocalCheckpointCommitter : ICheckpointCommitter
{
    private readonly string _root;
    private readonly int _keepLast;
    private readonly string _lineage;
    private readonly IReadOnlyList<SpecField> _fields;
    private readonly long _seed;
    private readonly int _worldSize;
    private readonly TimeProvider _time;
    private readonly List<CheckpointManifest> _committed;
    private long _lastId;

    public LocalCheckpointCommitter(string lineageRoot, LineageScan scan, int keepLast, string lineage, IReadOnlyList<SpecField> fields,
        long seed, int worldSize, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lineageRoot);
        ArgumentNullException.ThrowIfNull(scan);
        if (keepLast < 1) throw new ArgumentOutOfRangeException(nameof(keepLast), keepLast, "keepLast must be >= 1");
        _root = Path.GetFullPath(lineageRoot);
        _keepLast = keepLast;
        _lineage = lineage;
        _fields = fields;
        _seed = seed;
        _worldSize = worldSize;
        _time = time ?? TimeProvider.System;
        _committed = [.. scan.Committed];
        _lastId = scan.LastCheckpointId;
    }

    public Task<CheckpointTicket?> OpenAsync(CheckpointRequest request, CancellationToken cancellationToken)
    {
        var id = ++_lastId;
        return Task.FromResult<CheckpointTicket?>(new CheckpointTicket(id, request.Step, CheckpointFiles.DirectoryOf(_root, id)));
    }

    public Task AckAsync(CheckpointTicket ticket, CheckpointRequest request, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken)
    {
        if (error is not null)
        {
            CheckpointFiles.Delete(ticket.Directory);
            return Task.CompletedTask;
        }
        var manifest = new CheckpointManifest(_lineage, ticket.CheckpointId, 0, request.Step, _worldSize,
            new EpochPlan(_seed, request.Cursor.Epoch, request.Cursor.GlobalPosition), ticket.Directory, _time.GetUtcNow(), [new RankCheckpointFiles(0, files)])
        {
            Lineage = _lineage, SpecFields = _fields, Final = request.Final,
        };
        _committed.Add(CheckpointFiles.Commit(manifest));
        while (_committed.Count > _keepLast)
        {
            CheckpointFiles.Delete(_committed[0].Directory);
            _committed.RemoveAt(0);
        }
        return Task.CompletedTask;
    }
}
