using System.Collections.Concurrent;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// The benchmark's view of one client connection to the job grain: every call is passed through unchanged and counted;
/// beats are timed while <see cref="Recording"/>; the peer-table bytes handed out are summed.
/// </summary>
internal sealed class TimedJobGrain(IJobGrain inner) : IJobGrain
{
    private long _calls;
    private long _peerBytes;

    public bool Recording { get; set; }

    /// <summary>When the last join, assignment and peer table through this connection completed (timestamps; 0: none).</summary>
    public long LastJoin, LastAssignment, LastPeerTable;
    public ConcurrentQueue<double> BeatLatenciesMs { get; } = new();
    /// <summary>Every call made through this connection (beats, held directive calls, joins, ...).</summary>
    public long Calls => Interlocked.Read(ref _calls);
    public long PeerTableBytes => Interlocked.Read(ref _peerBytes);

    public async Task<NodeBeatReply> Beat(NodeBeat beat)
    {
        var started = TimeProvider.System.GetTimestamp();
        var reply = await Counted(inner.Beat(beat));
        if (Recording) BeatLatenciesMs.Enqueue(TimeProvider.System.GetElapsedTime(started).TotalMilliseconds);
        return reply;
    }

    public async Task<PeerTable> GetPeerTable(string nodeId, long generation)
    {
        var table = await Counted(inner.GetPeerTable(nodeId, generation));
        Interlocked.Add(ref _peerBytes, table.Packed.Length);
        Interlocked.Exchange(ref LastPeerTable, TimeProvider.System.GetTimestamp());
        return table;
    }

    public Task<SubmitResult> Submit(JobSpecSummary spec) => Counted(inner.Submit(spec));
    public async Task<JoinResult> JoinNode(NodeJoinRequest request)
    {
        var result = await Counted(inner.JoinNode(request));
        Interlocked.Exchange(ref LastJoin, TimeProvider.System.GetTimestamp());
        return result;
    }

    public async Task<NodeAssignmentResult> WaitForNodeAssignment(string nodeId, TimeSpan maxWait)
    {
        var result = await Counted(inner.WaitForNodeAssignment(nodeId, maxWait));
        if (result.Status == AssignmentStatus.Assigned) Interlocked.Exchange(ref LastAssignment, TimeProvider.System.GetTimestamp());
        return result;
    }
    public Task<ControlReply> WaitForDirective(string nodeId, long generation, TimeSpan maxWait) => Counted(inner.WaitForDirective(nodeId, generation, maxWait));
    public Task<ControlReply> ReportExit(ProcessExitReport report) => Counted(inner.ReportExit(report));
    public Task<JobStatus> Cancel(string reason) => Counted(inner.Cancel(reason));

    public Task<ScaleResult> Scale(int workers) => Counted(inner.Scale(workers));

    public Task<ScaleResult> Drain(NodeDrainRequest request) => Counted(inner.Drain(request));
    public Task<JobStatus> GetStatus() => Counted(inner.GetStatus());
    public Task<CheckpointManifest?> GetLatestCheckpoint() => Counted(inner.GetLatestCheckpoint());

    private Task<T> Counted<T>(Task<T> call)
    {
        Interlocked.Increment(ref _calls);
        return call;
    }
}
