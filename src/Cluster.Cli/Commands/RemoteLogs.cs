using System.Text;
using Cluster.Agent.Client;
using Cluster.Agent.Grains;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands;

/// <summary>
/// `cluster logs --redis`: a job's rank logs read through the cluster, from whichever node runs (or ran) each rank: the
/// rank's node comes from the job's status, its agent's <see cref="IRankLogSource"/> from <see cref="ILogDirectoryGrain"/>.
/// </summary>
internal static class RemoteLogs
{
    private const int ChunkBytes = 64 * 1024;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> PrintAsync(CoordinatorClient client, string jobId, int? rank, bool follow, string exitMarker, CancellationToken cancellationToken)
    {
        var status = await client.Grains.GetGrain<IJobGrain>(jobId).GetStatus().WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false);
        var ranks = status.Ranks.Where(r => rank is null || r.Rank == rank).ToList();
        if (ranks.Count == 0)
            throw new UsageException(rank is { } k ? $"job '{jobId}' has no rank {k} in generation {status.Generation}" : $"job '{jobId}' has no ranks ({status.State})");
        var directory = client.Grains.GetGrain<ILogDirectoryGrain>(0);
        var readers = new List<(RankInfo Rank, IRankLogSource Source, long Offset, StringBuilder Partial, bool Done)>();
        foreach (var r in ranks)
        {
            var source = await directory.Find(r.NodeId).WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false)
                ?? throw new UsageException($"node {r.NodeId} (rank {r.Rank}) has not registered its logs: its agent is down or has not started yet");
            readers.Add((r, source, 0, new StringBuilder(), false));
        }
        var prefix = readers.Count > 1;
        while (true)
        {
            var any = false;
            for (var i = 0; i < readers.Count; i++)
            {
                var (info, source, offset, partial, done) = readers[i];
                LogChunk chunk;
                try { chunk = await source.Read(jobId, info.MemberId, offset, ChunkBytes).WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false); }
                catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException)
                {
                    await Console.Error.WriteLineAsync($"logs: node {info.NodeId} does not answer ({e.Message})").ConfigureAwait(false);
                    return ExitCodes.Failure;
                }
                if (chunk.Missing is { } missing)
                {
                    await Console.Error.WriteLineAsync($"logs: {missing}").ConfigureAwait(false);
                    return ExitCodes.Failure;
                }
                if (chunk.Data.Length > 0) any = true;
                partial.Append(Encoding.UTF8.GetString(chunk.Data));
                var text = partial.ToString();
                var end = text.LastIndexOf('\n');
                if (end >= 0)
                {
                    foreach (var line in text[..end].Split('\n'))
                    {
                        if (line.StartsWith(exitMarker, StringComparison.Ordinal)) done = true;
                        await Console.Out.WriteLineAsync(prefix ? $"[rank {info.Rank}] {line}" : line).ConfigureAwait(false);
                    }
                    partial.Clear().Append(text[(end + 1)..]);
                }
                readers[i] = (info, source, chunk.Next, partial, done);
            }
            if (!follow && !any) return ExitCodes.Success;
            if (follow && readers.All(r => r.Done)) return ExitCodes.Success;
            if (!any) await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }
    }
}
