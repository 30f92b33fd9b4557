using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Agent.Client;
using Cluster.Agent.Grains;
using Cluster.Cli.Commands.Cluster;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands;

/// <summary>`cluster status [job] --redis host:port [--json]`: one job's state, generation, ranks with hosts, step, loss
/// and last committed checkpoint; without a job, every job in the directory with its state.</summary>
internal sealed class StatusCommand : BaseCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly Argument<string?> job = new("job") { Description = "Job id (default: list all jobs)", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> json = new("--json") { Description = "Print JSON" };
    private readonly ClusterConnection connection = new();

    public StatusCommand() : base("status", "Show a job's (or every job's) state")
    {
        Arguments.Add(job);
        Options.Add(json);
        connection.AddTo(this);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        CoordinatorClient client;
        try { client = await connection.ConnectAsync(parseResult, cancellationToken).ConfigureAwait(false); }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"status: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        await using (client.ConfigureAwait(false))
        {
            var asJson = parseResult.GetValue(json);
            if (parseResult.GetValue(job) is not { } jobId)
            {
                var all = await client.Grains.GetGrain<IJobDirectoryGrain>(JobDirectory.Key).List().WaitAsync(cancellationToken).ConfigureAwait(false);
                var states = new List<JobStatus>();
                foreach (var spec in all) states.Add(await client.Grains.GetGrain<IJobGrain>(spec.JobId).GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false));
                if (asJson) Console.Out.WriteLine(JsonSerializer.Serialize(states.Select(s => new { job = s.JobId, state = s.State, s.Generation, s.Step }), Json));
                else foreach (var s in states) Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.JobId,-32} {s.State.ToString().ToLowerInvariant(),-13} gen {s.Generation} step {s.Step}"));
                return ExitCodes.Success;
            }
            var status = await client.Grains.GetGrain<IJobGrain>(jobId).GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false);
            if (status.FailureReason == "not submitted") throw new UsageException($"job '{jobId}' has not been submitted");
            var report = await client.Grains.GetGrain<IJobReportGrain>(jobId).Get().WaitAsync(cancellationToken).ConfigureAwait(false);
            if (asJson) Console.Out.WriteLine(JsonSerializer.Serialize(new { status, report }, Json));
            else Print(status, report);
            return ExitCodes.Success;
        }
    }

    private static void Print(JobStatus s, JobReport report)
    {
        var o = Console.Out;
        o.WriteLine($"job         {s.JobId}");
        o.WriteLine($"state       {s.State.ToString().ToLowerInvariant()}{(s.FailureReason is { } r ? $" ({r})" : "")}");
        o.WriteLine($"generation  {s.Generation}");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step        {s.Step}{(report.TotalSteps > 0 ? $" / {report.TotalSteps}" : "")}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss        {(s.Loss is { } l && double.IsFinite(l) ? l.ToString("F4", CultureInfo.InvariantCulture) : "-")}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"samples/s   {(s.SamplesPerSecond is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) : "-")}"));
        if (report.LastEpoch is { } e)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch       {e.Epoch}/{e.Epochs}: train loss {e.TrainLoss:F4}, test loss {e.TestLoss:F4}, test accuracy {e.TestAccuracy:F4}"));
        o.WriteLine(s.LastCommittedCheckpoint is { } c
            ? string.Create(CultureInfo.InvariantCulture, $"checkpoint  {c.CheckpointId} at step {c.Step} in {c.Directory}")
            : "checkpoint  none committed");
        if (s.RestoreNote is { } restore) o.WriteLine($"restore     {restore}");
        if (s.LastCheckpointError is { } error) o.WriteLine($"ckpt error  {error}");
        if (s.WaitingMembers > 0) o.WriteLine($"waiting     {s.WaitingMembers} member(s)");
        if (s.Spares > 0) o.WriteLine($"spares      {s.Spares} rank(s) wait outside the generation (workers.maxRanks)");
        if (s.Coordinator is { } silo) o.WriteLine($"coordinator {silo}");
        if (s.TargetWorkers is { } target) o.WriteLine($"scaled to   {target} worker(s) (cluster scale)");
        foreach (var h in s.Recoveries ?? [])
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"world       generation {h.ToGeneration}: {h.WorldSize} rank(s){(h.Planned ? " (planned, at a step boundary)" : "")} at {h.DecidedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z{(h.Seconds is { } t ? $", trained again after {t:F2} s" : "")}: {h.Reason}"));
        foreach (var rank in s.Ranks)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {rank.Rank,-6} {rank.MemberId,-24} {rank.Host}:{rank.Port} pid {rank.Pid} step {rank.LastStep}"));
    }
}
