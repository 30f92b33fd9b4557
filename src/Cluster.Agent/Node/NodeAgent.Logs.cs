using System.Diagnostics;
using Cluster.Agent.Grains;
using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Node;

/// <summary>
/// The node's rank logs, readable from anywhere in the cluster: the agent registers an <see cref="IRankLogSource"/>
/// (<see cref="RankLogSource"/>) with <see cref="ILogDirectoryGrain"/> at its first tick and every
/// <see cref="ILogDirectoryGrain.RefreshInterval"/> after (the directory is soft state: a failover forgets it).
/// </summary>
public sealed partial class NodeAgent
{
    private RankLogSource? _logSource;
    private IRankLogSource? _logReference;
    private long _logsRegisteredAt;

    private async Task RegisterLogsAsync(CancellationToken cancellationToken)
    {
        if (_logReference is not null && Stopwatch.GetElapsedTime(_logsRegisteredAt) < ILogDirectoryGrain.RefreshInterval) return;
        _logSource ??= new RankLogSource(_options.LogsDirectory, _options.NodeId);
        _logReference ??= grains.CreateObjectReference<IRankLogSource>(_logSource);
        try
        {
            await grains.GetGrain<ILogDirectoryGrain>(0).Register(_options.NodeId, _logReference).WaitAsync(cancellationToken).ConfigureAwait(false);
            _logsRegisteredAt = Stopwatch.GetTimestamp();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogLogsNotRegistered(_options.NodeId, e.Message); // the next tick tries again; training does not depend on it
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {NodeId}: its rank logs could not be registered for remote reading: {Reason}")]
    private partial void LogLogsNotRegistered(string nodeId, string reason);
}
