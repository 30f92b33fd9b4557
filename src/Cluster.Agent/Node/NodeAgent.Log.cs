using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Node;

/// <summary>The node agent's log messages (<see cref="NodeAgent"/>).</summary>
public sealed partial class NodeAgent
{
    [LoggerMessage(Level = LogLevel.Information, Message = "agent {NodeId} started: up to {Nproc} ranks per job, logs in {Logs}")]
    private partial void LogStarted(string nodeId, int nproc, string logs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "agent tick failed: {Reason}")]
    private partial void LogTickFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} needs {Needed} ranks per node but this agent runs at most {Nproc}; skipped")]
    private partial void LogTooWide(string jobId, int needed, int nproc);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: started {MemberId} (pid {Pid}), log {Log}")]
    private partial void LogLaunched(string jobId, string memberId, int pid, string log);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} waits for workers again (it lost every rank): starting it over on this node")]
    private partial void LogStartingOver(string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId} was not admitted into the running job; it asks again in {Seconds:0} s if the job has room")]
    private partial void LogNotAdmitted(string jobId, string nodeId, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId} left the job (scaled down or drained)")]
    private partial void LogLeft(string jobId, string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: killing {MemberId} (pid {Pid}): hung when its generation ended")]
    private partial void LogKillingHung(string jobId, string memberId, int pid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: {Directive} ({Reason}): killing this node's ranks")]
    private partial void LogKilling(string jobId, ControlDirective directive, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: {MemberId} has no rank in generation {Generation}: killing it")]
    private partial void LogDropped(string jobId, string memberId, long generation);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} generation {Generation}: the node's ranks finished; {Count} spare(s) released")]
    private partial void LogSparesReleased(string jobId, int count, long generation);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId} local channel at {Socket}")]
    private partial void LogChannel(string jobId, string nodeId, string socket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: the node's voice failed: {Reason}")]
    private partial void LogVoiceFailed(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} rank process(es) still alive 10 s after the kill")]
    private partial void LogStopTimeout(int count);
}
