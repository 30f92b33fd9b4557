using Cluster.Collectives;
using Cluster.Training.Checkpoints;
using Cluster.Training.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Elastic;

/// <summary>
/// The training state of an elastic loop, in the spirit of Horovod's elastic <c>State</c>: one handler per kind of state
/// (an <see cref="ICheckpointPart"/>: the model, the optimizer, and small values such as the schedule position, the
/// sampler cursor or an RNG state as <see cref="JsonCheckpointPart{T}"/>), and three operations.
/// <list type="bullet">
/// <item><see cref="Commit"/>: the live state is step N; a copy is kept in memory to go back to (a full copy of every part:
/// commit every few steps when the model is large).</item>
/// <item><see cref="Restore"/>: the live state goes back to the last commit (after a failure in the middle of a step whose
/// update was partly applied).</item>
/// <item><see cref="SyncAsync"/>: collective, every rank of a new generation: the ranks all-gather (step, fingerprint of
/// every part); the lowest rank at the newest step is the source, and every rank whose pair differs receives the source's
/// parts over the collectives (<see cref="StateTransfer"/>: a MessagePack directory of names, lengths and SHA-256) and
/// loads them, in handler order. Ranks at the newest step with different states trust nobody:
/// <see cref="StateDivergedException"/> (restore from a committed checkpoint).</item>
/// </list>
/// <see cref="Engine.Trainer"/> uses the same exchange (<see cref="ExchangeAsync"/>) with its own parts at the start of
/// every generation; it needs no <see cref="Commit"/>/<see cref="Restore"/>, because its commit vote lets no rank apply a
/// step that not every rank holds.
/// </summary>
public sealed class ElasticState
{
    private readonly ICheckpointPart[] _handlers;
    private readonly TimeProvider _clock;
    private List<StateImage>? _committed;

    /// <param name="handlers">One per kind of state, distinct names; loaded in this order (put a part that others depend on first).</param>
    /// <param name="clock">Times the exchange (<see cref="StateExchange.Exchanged"/>, <see cref="StateExchange.Sent"/>); the system clock by default.</param>
    public ElasticState(IReadOnlyList<ICheckpointPart> handlers, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        ArgumentNullException.ThrowIfNull(handlers);
        if (handlers.Count == 0) throw new ArgumentException("an elastic state needs at least one handler", nameof(handlers));
        if (handlers.Select(h => h.Name).Distinct(StringComparer.Ordinal).Count() != handlers.Count)
            throw new ArgumentException($"handler names must be distinct: {string.Join(", ", handlers.Select(h => h.Name))}", nameof(handlers));
        _handlers = [.. handlers];
    }

    /// <summary>The model and optimizer handlers, then <paramref name="values"/> (schedule, sampler cursor, RNG, ...).</summary>
    public static ElasticState Of(nn.Module model, optim.Optimizer optimizer, params ICheckpointPart[] values) =>
        new([new ModuleCheckpointPart(model), new OptimizerCheckpointPart((OptimizerHelper)optimizer), .. values]);

    /// <summary>The step of the live state: set by <see cref="Commit"/>, <see cref="Restore"/> and <see cref="SyncAsync"/>.</summary>
    public long Step { get; private set; }

    /// <summary>The step of the last commit, or null before the first.</summary>
    public long? CommittedStep { get; private set; }

    /// <summary>The live state is step <paramref name="step"/>: keeps a copy to <see cref="Restore"/> to.</summary>
    public void Commit(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        _committed = Images(_handlers);
        Step = step;
        CommittedStep = step;
    }

    /// <summary>Puts the last commit back into the live state.</summary>
    /// <exception cref="InvalidOperationException">Nothing was committed.</exception>
    public void Restore()
    {
        if (_committed is null || CommittedStep is not { } step) throw new InvalidOperationException("nothing to restore: no commit yet");
        Load(_handlers, _committed);
        Step = step;
    }

    /// <summary>
    /// Collective: makes every rank of <paramref name="communicator"/>'s generation hold one state (see the type's remarks).
    /// A rank that received a state has it live and committed. <paramref name="maxBytes"/>: the most a receiver accepts.
    /// </summary>
    public async Task<StateExchange> SyncAsync(ICommunicator communicator, long maxBytes, CancellationToken cancellationToken)
    {
        var exchange = await ExchangeAsync(communicator, Step, Images(_handlers), maxBytes, _clock, cancellationToken).ConfigureAwait(false);
        if (exchange.Diverged is { } ranks) throw new StateDivergedException(exchange.Step, ranks);
        if (exchange.Received is { } parts)
        {
            Load(_handlers, parts);
            _committed = [.. parts];
            CommittedStep = exchange.Step;
        }
        Step = exchange.Step;
        return exchange;
    }

    /// <summary>
    /// The exchange itself (also the trainer's): all-gather (step, fingerprint), choose the source, broadcast to the ranks
    /// whose pair differs. Returns the decision; <see cref="StateExchange.Received"/> holds the parts on a receiving rank.
    /// </summary>
    internal static async Task<StateExchange> ExchangeAsync(ICommunicator communicator, long step, IReadOnlyList<StateImage> images, long maxBytes,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        var start = clock.GetTimestamp();
        var world = communicator.WorldSize;
        var pairs = new long[2 * world];
        await communicator.AllGatherAsync<long>(new long[] { step, StateTransfer.Fingerprint(images) }, pairs, cancellationToken).ConfigureAwait(false);
        var newest = Enumerable.Range(0, world).Max(r => pairs[2 * r]);
        var atNewest = Enumerable.Range(0, world).Where(r => pairs[2 * r] == newest).ToList();
        var steps = Enumerable.Range(0, world).Select(r => pairs[2 * r]).ToArray();
        var fingerprints = Enumerable.Range(0, world).Select(r => pairs[2 * r + 1]).ToArray();
        if (atNewest.Select(r => fingerprints[r]).Distinct().Count() > 1)
            return new StateExchange(newest, -1, [], steps, fingerprints, atNewest, null, clock.GetElapsedTime(start), TimeSpan.Zero);
        var source = atNewest[0];
        var receivers = Enumerable.Range(0, world).Where(r => steps[r] != newest || fingerprints[r] != fingerprints[source]).ToList();
        var exchanged = clock.GetElapsedTime(start);
        if (receivers.Count == 0) return new StateExchange(newest, source, receivers, steps, fingerprints, null, null, exchanged, TimeSpan.Zero);
        var sendStart = clock.GetTimestamp();
        var (_, parts) = await StateTransfer.BroadcastAsync(communicator, source, newest, communicator.Rank == source ? images : null, maxBytes, cancellationToken).ConfigureAwait(false);
        return new StateExchange(newest, source, receivers, steps, fingerprints, null, receivers.Contains(communicator.Rank) ? parts : null, exchanged, clock.GetElapsedTime(sendStart));
    }

    /// <summary>Every part serialised to bytes, in order (what a commit keeps and a sync exchanges).</summary>
    internal static List<StateImage> Images(IEnumerable<ICheckpointPart> parts) => [.. parts.Select(part =>
    {
        using var stream = new MemoryStream();
        part.Write(stream);
        return new StateImage(part.Name, stream.ToArray());
    })];

    private static void Load(IEnumerable<ICheckpointPart> handlers, IReadOnlyList<StateImage> images)
    {
        var byName = images.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var handler in handlers)
        {
            if (!byName.TryGetValue(handler.Name, out var image)) throw new InvalidDataException($"the state holds no part {handler.Name}");
            using var stream = new MemoryStream(image.Bytes, writable: false);
            handler.Read(stream);
        }
    }
}
