using Cluster.Coordinator.Contracts;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// The commit protocol a trainer saves through: ask for a ticket for a step (from the background, after the capture),
/// write the files where the ticket says, vote.
/// Coordinated ranks ask the job grain (two-phase commit across every rank); a run without a coordinator commits
/// locally (<see cref="LocalCheckpointCommitter"/>). Either way the result is a <c>ckpt-N</c> directory with a manifest.
/// </summary>
public interface ICheckpointCommitter
{
    /// <summary>Asks to checkpoint at <see cref="CheckpointRequest.Step"/>; null when no checkpoint is taken now.</summary>
    Task<CheckpointTicket?> OpenAsync(CheckpointRequest request, CancellationToken cancellationToken);

    /// <summary>Phase-one vote: the files this rank wrote durably (none for ranks other than 0), or why it could not.</summary>
    Task AckAsync(CheckpointTicket ticket, CheckpointRequest request, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken);
}

/// <summary>A save at <paramref name="Step"/> whose sampler position afterwards is <paramref name="Cursor"/>.</summary>
public sealed record CheckpointRequest(long Step, Data.SamplerCursor Cursor, bool Final);

/// <summary>Where to write checkpoint <paramref name="CheckpointId"/>.</summary>
public sealed record CheckpointTicket(long CheckpointId, long Step, string Directory);
