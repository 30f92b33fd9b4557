using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Local;

/// <summary>
/// The rank's end of the local channel: connects to its node agent's socket, proves the job secret over the agent's
/// challenge and checks the agent's proof back, announces its collective listener, waits (bounded) for its assignment,
/// then carries progress, checkpoint requests and votes. A directive pushed by the agent, or the channel closing (the agent
/// died), trips <see cref="Directed"/>; a regroup (elastic recovery) trips <see cref="Regrouped"/> of the generation it
/// ends, and the next assignment follows on the same channel.
/// </summary>
public sealed class AgentLink : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamOutbox _outbox;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<ControlReply>> _pending = new();
    private readonly System.Threading.Channels.Channel<RankAssignment> _assigned = System.Threading.Channels.Channel.CreateUnbounded<RankAssignment>();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<ControlReply>> _regroups = new();
    private long _newestAssigned;
    private string? _standby; // why the rank waits as a spare (set by a Standby, cleared by the next assignment)
    private Action<string>? _onStandby;
    private long _returned;
    private readonly TaskCompletionSource<ControlReply> _directed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private long _nextId;

    private AgentLink(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _outbox = new StreamOutbox(_stream);
    }

    /// <summary>The job's spec as submitted, from the agent's welcome.</summary>
    public string SpecYaml { get; private set; } = "";

    /// <summary>Completes with the directive that ends this rank's generation (abort, fenced, agent gone).</summary>
    public Task<ControlReply> Directed => _directed.Task;

    /// <summary>
    /// Connects and authenticates; throws <see cref="InvalidOperationException"/> when the agent refuses the rank or fails
    /// to prove the secret, and <see cref="TimeoutException"/> after <paramref name="timeout"/>. <paramref name="onStandby"/>
    /// is called (on the channel's reader) each time the agent says the rank waits as a spare.
    /// </summary>
    public static async Task<AgentLink> ConnectAsync(string socketPath, string jobId, string nodeId, int localRank, string secretBase64, int port,
        TimeSpan timeout, CancellationToken cancellationToken, Action<string>? onStandby = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            if (cancellationToken.IsCancellationRequested) throw;
            throw new TimeoutException($"local rank {localRank} of job '{jobId}' could not reach its node agent at {socketPath}: {e.Message}");
        }
        var link = new AgentLink(socket);
        try
        {
            var secret = Convert.FromBase64String(secretBase64);
            if (await LocalFrames.ReadAsync(link._stream, deadline.Token).ConfigureAwait(false) is not LocalMessage.Challenge { Nonce.Length: LocalProof.NonceBytes } challenge)
                throw new InvalidOperationException($"node agent at {socketPath} did not send a challenge");
            var nonce = RandomNumberGenerator.GetBytes(LocalProof.NonceBytes);
            await link._outbox.SendAsync(new LocalMessage.Hello(jobId, localRank, Environment.ProcessId, port,
                LocalProof.Compute(secret, "rank", jobId, nodeId, localRank, challenge.Nonce), nonce), deadline.Token).ConfigureAwait(false);
            switch (await LocalFrames.ReadAsync(link._stream, deadline.Token).ConfigureAwait(false))
            {
                case LocalMessage.Welcome w when LocalProof.Verify(secret, "agent", jobId, nodeId, localRank, nonce, w.Proof):
                    link.SpecYaml = w.SpecYaml;
                    break;
                case LocalMessage.Refused r:
                    throw new InvalidOperationException($"node agent refused local rank {localRank}: {r.Reason}");
                default:
                    throw new InvalidOperationException($"node agent at {socketPath} did not prove the job secret of job '{jobId}'");
            }
            link._onStandby = onStandby;
            link._reader = link.ReadLoopAsync(link._stop.Token);
            return link;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"local rank {localRank} of job '{jobId}' could not reach its node agent at {socketPath} within {timeout.TotalSeconds:0} s");
        }
        catch
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Why the rank waits as a spare, or null (it has, or waits for, a place in a generation).</summary>
    public string? Standby => Volatile.Read(ref _standby);

    /// <summary>
    /// Waits for the rank's next assignment (the first, or after a regroup one of a later generation than the last one
    /// returned); throws <see cref="InvalidOperationException"/> when refused or stopped first, <see cref="TimeoutException"/>
    /// after <paramref name="timeout"/>. A spare (<see cref="Standby"/>) waits on past the timeout: the agent ends the wait
    /// with an assignment or a directive, or by closing the channel.
    /// </summary>
    public async Task<RankAssignment> AssignmentAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var next = _assigned.Reader.ReadAsync(deadline.Token).AsTask();
            Task first;
            try { first = await Task.WhenAny(next, _directed.Task).WaitAsync(deadline.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (Standby is not null) continue; // a spare waits for a loss
                throw new TimeoutException($"no assignment from the node agent within {timeout.TotalSeconds:0} s (after generation {_returned})");
            }
            if (first != next)
            {
                var why = await _directed.Task.ConfigureAwait(false);
                throw new InvalidOperationException(why.Reason ?? why.Directive.ToString());
            }
            var assignment = await next.ConfigureAwait(false);
            if (assignment.Generation <= _returned) continue; // a stale copy
            _returned = assignment.Generation;
            return assignment;
        }
    }

    /// <summary>Completes when the agent says generation <paramref name="generation"/> is over and the rank goes on in the next one.</summary>
    public Task<ControlReply> Regrouped(long generation) => RegroupOf(generation).Task;

    private TaskCompletionSource<ControlReply> RegroupOf(long generation) =>
        _regroups.GetOrAdd(generation, _ => new TaskCompletionSource<ControlReply>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Newest progress (no reply).</summary>
    public Task PostAsync(ProgressReport report, long generation, CancellationToken cancellationToken) =>
        _outbox.SendAsync(new LocalMessage.Posted(report, generation), cancellationToken);

    /// <summary>Alive, nothing new.</summary>
    public Task PingAsync(CancellationToken cancellationToken) => _outbox.SendAsync(new LocalMessage.Ping(), cancellationToken);

    /// <summary>Progress that asks the coordinator something; returns its answer.</summary>
    public Task<ControlReply> RequestAsync(ProgressReport report, long generation, CancellationToken cancellationToken) =>
        AskAsync(id => new LocalMessage.Request(id, report, generation), cancellationToken);

    /// <summary>A checkpoint vote; returns the coordinator's answer.</summary>
    public Task<ControlReply> VoteAsync(CheckpointVote vote, long generation, CancellationToken cancellationToken) =>
        AskAsync(id => new LocalMessage.Vote(id, vote, generation), cancellationToken);

    /// <summary>Rank 0 of <paramref name="generation"/>: the planned steps and epochs, for the job report; returns the agent's answer.</summary>
    public Task<ControlReply> ReportPlanAsync(long generation, long totalSteps, int epochs, CancellationToken cancellationToken) =>
        AskAsync(id => new LocalMessage.PlanReport(id, generation, totalSteps, epochs), cancellationToken);

    /// <summary>Rank 0 of <paramref name="generation"/>: an epoch finished.</summary>
    public Task<ControlReply> ReportEpochAsync(long generation, Grains.EpochSummary epoch, CancellationToken cancellationToken) =>
        AskAsync(id => new LocalMessage.EpochReport(id, generation, epoch), cancellationToken);

    /// <summary>Rank 0 of <paramref name="generation"/>: training finished.</summary>
    public Task<ControlReply> ReportResultAsync(long generation, Grains.JobResult result, CancellationToken cancellationToken) =>
        AskAsync(id => new LocalMessage.ResultReport(id, generation, result), cancellationToken);

    /// <summary>
    /// Longest a request or vote waits for its answer. The agent answers within a beat, or ends the node (and so this
    /// rank) after 20 s without the coordinator; this bounds the wait even if the agent does neither.
    /// </summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(60);

    private async Task<ControlReply> AskAsync(Func<long, LocalMessage> message, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<ControlReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        try
        {
            await _outbox.SendAsync(message(id), cancellationToken).ConfigureAwait(false);
            Task first;
            try { first = await Task.WhenAny(reply.Task, _directed.Task).WaitAsync(AskTimeout, cancellationToken).ConfigureAwait(false); }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{message(id).GetType().Name} {id} got no answer from the node agent within {AskTimeout.TotalSeconds:0} s", e);
            }
            return await (first == reply.Task ? reply.Task : _directed.Task).ConfigureAwait(false);
        }
        finally { _pending.TryRemove(id, out _); }
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var why = "node agent closed the local channel";
        try
        {
            while (await LocalFrames.ReadAsync(_stream, cancellationToken).ConfigureAwait(false) is { } message)
            {
                switch (message)
                {
                    case LocalMessage.Assigned a:
                        // In the channel's order: a regroup ends the newest generation assigned before it.
                        Volatile.Write(ref _newestAssigned, Math.Max(Volatile.Read(ref _newestAssigned), a.Assignment.Generation));
                        Volatile.Write(ref _standby, null);
                        _assigned.Writer.TryWrite(a.Assignment);
                        break;
                    case LocalMessage.Standby w:
                        Volatile.Write(ref _standby, w.Reason);
                        _onStandby?.Invoke(w.Reason);
                        break;
                    case LocalMessage.Directive { Answer.Directive: ControlDirective.Regroup } g:
                        RegroupOf(Volatile.Read(ref _newestAssigned)).TrySetResult(g.Answer);
                        break;
                    case LocalMessage.Reply r when _pending.TryGetValue(r.Id, out var waiter): waiter.TrySetResult(r.Answer); break;
                    case LocalMessage.Reply: break; // the asker gave up
                    case LocalMessage.Directive d: _directed.TrySetResult(d.Answer); break;
                    case LocalMessage.Refused f: _directed.TrySetResult(new ControlReply(ControlDirective.Abort, f.Reason, null)); break;
                    default: throw new InvalidDataException($"unexpected {message.GetType().Name} from the node agent");
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException or SocketException or ObjectDisposedException)
        {
            why = $"local channel to the node agent failed: {e.Message}";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        _directed.TrySetResult(new ControlReply(ControlDirective.Abort, why, null));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try { await _reader.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { /* closed */ }
        await _stream.DisposeAsync().ConfigureAwait(false);
        _outbox.Dispose();
        _stop.Dispose();
    }
}
