using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Local;

/// <summary>
/// The agent's end of the local channel for one job: a Unix domain socket (mode 0600 in a 0700 directory) that the node's
/// rank processes connect to. Each connection must answer a fresh challenge with an HMAC over the job secret before it is
/// attached to the <see cref="NodeVoice"/>; the agent proves the secret back and hands the rank the job's spec. Frames are
/// length-checked before allocation. The job report of the generation's rank 0 goes on to the job's report grain from here,
/// so a rank process needs no coordinator connection of its own.
/// </summary>
public sealed partial class LocalChannelServer : IAsyncDisposable
{
    private static readonly TimeSpan HelloDeadline = TimeSpan.FromSeconds(30);
    private readonly Socket _listener;
    private readonly NodeVoice _voice;
    private readonly byte[] _secret;
    private readonly string _jobId;
    private readonly string _nodeId;
    private readonly int _ranks;
    private readonly string _specYaml;
    private readonly Grains.IJobReportGrain? _report;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private int _disposed;

    /// <param name="specYaml">The job's spec as submitted, sent to each rank in the welcome.</param>
    /// <param name="report">Where rank 0's job report goes (null: reports are answered as not forwarded).</param>
    public LocalChannelServer(string path, NodeVoice voice, string jobId, string nodeId, string secretBase64, int ranks, ILogger logger,
        string specYaml = "", Grains.IJobReportGrain? report = null)
    {
        _specYaml = specYaml;
        _report = report;
        Path = path;
        _voice = voice;
        _jobId = jobId;
        _nodeId = nodeId;
        _ranks = ranks;
        _secret = Convert.FromBase64String(secretBase64);
        _logger = logger;
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the local channel needs Unix domain sockets with file modes");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(ranks + 4);
        _accepting = AcceptLoopAsync(_stop.Token);
    }

    /// <summary>The socket path ranks connect to (set in their environment).</summary>
    public string Path { get; }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            lock (_connections) _connections.Add(ServeAsync(socket, cancellationToken));
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        using var outbox = new StreamOutbox(stream);
        int? local = null;
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(LocalProof.NonceBytes);
            await outbox.SendAsync(new LocalMessage.Challenge(nonce), cancellationToken).ConfigureAwait(false);
            using var hello = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            hello.CancelAfter(HelloDeadline);
            if (await LocalFrames.ReadAsync(stream, hello.Token).ConfigureAwait(false) is not LocalMessage.Hello h)
                throw new InvalidDataException("the first message was not a hello");
            if (h.JobId != _jobId || h.LocalRank < 0 || h.LocalRank >= _ranks
                || !LocalProof.Verify(_secret, "rank", _jobId, _nodeId, h.LocalRank, nonce, h.Proof) || h.Nonce is not { Length: LocalProof.NonceBytes })
            {
                LogRefused(_jobId, _nodeId, h.LocalRank);
                await outbox.SendAsync(new LocalMessage.Refused($"local rank {h.LocalRank} of job '{h.JobId}': proof does not match the job secret of job '{_jobId}' on node {_nodeId}"),
                    cancellationToken).ConfigureAwait(false);
                return;
            }
            await outbox.SendAsync(new LocalMessage.Welcome(LocalProof.Compute(_secret, "agent", _jobId, _nodeId, h.LocalRank, h.Nonce), _specYaml), cancellationToken).ConfigureAwait(false);
            _voice.Attach(h.LocalRank, h.Port, h.Pid, outbox);
            local = h.LocalRank;
            while (await LocalFrames.ReadAsync(stream, cancellationToken).ConfigureAwait(false) is { } message)
            {
                switch (message)
                {
                    case LocalMessage.Posted posted:
                        _voice.Post(h.LocalRank, posted.Report, posted.Generation);
                        break;
                    case LocalMessage.Request request:
                        _ = AnswerAsync(outbox, request.Id, _voice.RequestAsync(h.LocalRank, request.Report, cancellationToken, request.Generation), cancellationToken);
                        break;
                    case LocalMessage.Vote vote:
                        _ = AnswerAsync(outbox, vote.Id, _voice.VoteAsync(h.LocalRank, vote.Ballot, cancellationToken, vote.Generation), cancellationToken);
                        break;
                    case LocalMessage.Ping:
                        _voice.Heard(h.LocalRank);
                        break;
                    case LocalMessage.PlanReport plan:
                        _ = AnswerAsync(outbox, plan.Id, ForwardAsync(h.LocalRank, plan.Generation, r => r.ReportPlan(plan.TotalSteps, plan.Epochs)), cancellationToken);
                        break;
                    case LocalMessage.EpochReport epoch:
                        _ = AnswerAsync(outbox, epoch.Id, ForwardAsync(h.LocalRank, epoch.Generation, r => r.ReportEpoch(epoch.Epoch)), cancellationToken);
                        break;
                    case LocalMessage.ResultReport result:
                        _ = AnswerAsync(outbox, result.Id, ForwardAsync(h.LocalRank, result.Generation, r => r.ReportResult(result.Result)), cancellationToken);
                        break;
                    default:
                        throw new InvalidDataException($"unexpected {message.GetType().Name} from local rank {h.LocalRank}");
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException or OperationCanceledException or InvalidOperationException or SocketException)
        {
            if (!cancellationToken.IsCancellationRequested) LogDropped(_jobId, _nodeId, local ?? -1, e.Message);
        }
        finally
        {
            if (local is { } l) _voice.Detach(l, outbox);
        }
    }

    /// <summary>Longest the agent waits for the report grain before it answers the rank with the failure.</summary>
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A job report from local rank <paramref name="localRank"/>, forwarded when it holds rank 0 of <paramref name="generation"/>,
    /// the node's current generation; the answer says why not, or why the grain call failed, in its reason.
    /// </summary>
    private async Task<Cluster.Coordinator.Contracts.ControlReply> ForwardAsync(int localRank, long generation, Func<Grains.IJobReportGrain, Task> call)
    {
        if (_report is null) return NotForwarded("this agent has no job report to forward to");
        if (!_voice.HoldsRankZero(localRank, generation))
            return NotForwarded($"local rank {localRank} does not hold rank 0 of generation {generation} on node {_nodeId}");
        try
        {
            await call(_report).WaitAsync(ReportTimeout).ConfigureAwait(false);
            return Cluster.Coordinator.Contracts.ControlReply.Continue;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return NotForwarded($"the job report did not take it: {e.GetType().Name}: {e.Message}");
        }
    }

    private static Cluster.Coordinator.Contracts.ControlReply NotForwarded(string reason) => new(Cluster.Coordinator.Contracts.ControlDirective.Continue, reason, null);

    private static async Task AnswerAsync(StreamOutbox outbox, long id, Task<Cluster.Coordinator.Contracts.ControlReply> answer, CancellationToken cancellationToken)
    {
        try { await outbox.SendAsync(new LocalMessage.Reply(id, await answer.ConfigureAwait(false)), cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { /* the rank is gone */ }
    }

    /// <summary>Stops accepting, closes every connection and removes the socket file; idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        Task[] open;
        lock (_connections) open = [.. _connections];
        try { await Task.WhenAll(open).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { /* connections close with the process */ }
        try { File.Delete(Path); }
        catch (IOException) { /* already gone */ }
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: node {NodeId} refused a local connection claiming local rank {Rank}: wrong proof or job")]
    private partial void LogRefused(string jobId, string nodeId, int rank);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId} local rank {Rank} channel closed: {Reason}")]
    private partial void LogDropped(string jobId, string nodeId, int rank, string reason);
}
