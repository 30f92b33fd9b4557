using System.CommandLine;
using Cluster.Agent.Client;
using Cluster.Agent.Node;
using Cluster.Cli.Commands.Cluster;

namespace Cluster.Cli.Commands;

/// <summary>`cluster logs job [--rank k] [--follow] [--logs DIR]`: prints the rank logs this node's agent wrote
/// (every member of the job, or rank k). --follow keeps printing new lines until every followed rank has exited. With
/// `--redis`, the logs of the job's current ranks are read through the cluster from the nodes that run them (<see cref="RemoteLogs"/>).</summary>
internal sealed class LogsCommand : BaseCommand
{
    private const string ExitMarker = "[agent] ";

    private readonly Argument<string> job = new("job") { Description = "Job id" };
    private readonly Option<int?> rank = new("--rank") { Description = "Only this (global) rank" };
    private readonly Option<bool> follow = new("--follow", "-f") { Description = "Keep printing new lines until the ranks exit" };
    private readonly Option<string?> logs = new("--logs") { Description = "Folder of rank logs (default ~/.local/share/cluster/logs)" };
    private readonly ClusterConnection connection = new(required: false);

    public LogsCommand() : base("logs", "Print the logs of a job's ranks on this node")
    {
        Arguments.Add(job);
        Options.Add(rank);
        Options.Add(follow);
        Options.Add(logs);
        connection.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var jobId = parseResult.GetValue(job)!;
        if (connection.IsGiven(parseResult))
        {
            CoordinatorClient client;
            try { client = await connection.ConnectAsync(parseResult, cancellationToken).ConfigureAwait(false); }
            catch (InvalidOperationException e)
            {
                await Console.Error.WriteLineAsync($"logs: {e.Message}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }
            await using (client.ConfigureAwait(false))
                return await RemoteLogs.PrintAsync(client, jobId, parseResult.GetValue(rank), parseResult.GetValue(follow), ExitMarker, cancellationToken).ConfigureAwait(false);
        }
        var root = Path.GetFullPath(parseResult.GetValue(logs) ?? ClusterDefaults.LogsDirectory);
        var dir = RankLogs.JobDirectory(root, jobId);
        if (!Directory.Exists(dir)) throw new UsageException($"no logs of job '{jobId}' in {root}");
        List<(string Label, string Path)> files;
        if (parseResult.GetValue(rank) is { } k)
        {
            var path = RankLogs.RankLog(root, jobId, k);
            if (!File.Exists(path)) throw new UsageException($"no log of rank {k} of job '{jobId}' in {dir} (the rank runs on another node, or was never assigned)");
            files = [($"rank {k}", path)];
        }
        else
        {
            files = Directory.GetFiles(dir, "*.log").Where(f => !Path.GetFileName(f).StartsWith("rank-", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
                .Select(f => (Path.GetFileNameWithoutExtension(f), f)).ToList();
        }
        var prefix = files.Count > 1;
        var readers = files.Select(f => (f.Label, Reader: new StreamReader(new FileStream(f.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)), Done: false)).ToList();
        try
        {
            var wait = TimeSpan.FromMilliseconds(50);
            while (true)
            {
                var any = false;
                for (var i = 0; i < readers.Count; i++)
                {
                    var (label, reader, done) = readers[i];
                    while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                    {
                        any = true;
                        if (line.StartsWith(ExitMarker, StringComparison.Ordinal)) done = true;
                        await Console.Out.WriteLineAsync(prefix ? $"[{label}] {line}" : line).ConfigureAwait(false);
                    }
                    readers[i] = (label, reader, done);
                }
                if (!parseResult.GetValue(follow) || readers.All(r => r.Done)) return ExitCodes.Success;
                if (!any) await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var r in readers) r.Reader.Dispose();
        }
    }
}
