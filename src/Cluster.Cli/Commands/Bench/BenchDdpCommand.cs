using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Cluster.Abstractions;
using Cluster.Cli.Commands.Run;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// `cluster bench ddp job.yaml`: the DDP communication overhead, data-loader wait and checkpoint stall of a real training
/// job. Runs the job's training loop on N local ranks for warm-up + S steps, R times; within each run blocks of --block
/// steps alternate with and without the gradient all-reduce (PyTorch's <c>no_sync</c> measurement, under the same
/// conditions), and prints rank 0's per-step figures (medians over the runs): step time with and without all-reduce
/// (overhead = their difference over the time without), the all-reduce time itself, the share of the step spent waiting
/// for data, and the checkpoint stall per save (checkpoints go to a scratch folder every --checkpoint-every steps; their
/// stall is not part of the step times). Evaluation is skipped and nothing is resumed. <c>--step-vote</c> runs the per-step
/// vote of elastic jobs (on, or in every other run) and reports its time per step next to the step time with and without it.
/// </summary>
internal sealed class BenchDdpCommand : BaseCommand
{
    private readonly Argument<FileInfo> job = new("job") { Description = "Job spec (YAML)" };
    private readonly Option<int> workers = new("--workers") { Description = "Rank processes", DefaultValueFactory = _ => 2 };
    private readonly Option<int?> threads = new("--threads") { Description = "Torch threads per rank (default: cores / workers)" };
    private readonly Option<int> steps = new("--steps") { Description = "Timed optimizer steps per run", DefaultValueFactory = _ => 200 };
    private readonly Option<int> warmup = new("--warmup") { Description = "Untimed optimizer steps first", DefaultValueFactory = _ => 20 };
    private readonly Option<int> rounds = new("--rounds") { Description = "Runs", DefaultValueFactory = _ => 2 };
    private readonly Option<int> block = new("--block") { Description = "Steps per block; blocks alternate with and without all-reduce", DefaultValueFactory = _ => 10 };
    private readonly Option<int> checkpointEvery = new("--checkpoint-every") { Description = "Checkpoint interval in steps (0: none)", DefaultValueFactory = _ => 50 };
    private readonly Option<int> timeout = new("--timeout") { Description = "Seconds per run", DefaultValueFactory = _ => 1800 };
    private readonly Option<string> stepVote = new("--step-vote")
    {
        Description = "The per-step vote of elastic jobs: off, on, or alternate (runs alternate off/on: its cost side by side)", DefaultValueFactory = _ => "off",
    };
    private readonly Option<bool> json = new("--json") { Description = "JSON summary as the last stdout line; human text on stderr" };

    public BenchDdpCommand() : base("ddp", "DDP overhead, data wait and checkpoint stall of a training job on local ranks")
    {
        Arguments.Add(job);
        foreach (var option in new Option[] { workers, threads, steps, warmup, rounds, block, checkpointEvery, timeout, stepVote, json }) Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var asJson = parseResult.GetValue(json);
        var human = asJson ? Console.Error : Console.Out;
        var (file, spec) = SpecArgument.Load(parseResult, job);
        var n = parseResult.GetValue(workers);
        if (n < 1 || n > 64) throw new UsageException($"--workers must be in [1, 64] (got {n})");
        var perRank = parseResult.GetValue(threads) ?? Math.Max(1, Environment.ProcessorCount / n);
        if (perRank < 1) throw new UsageException($"--threads must be >= 1 (got {perRank})");
        var timed = Positive(parseResult.GetValue(steps), "--steps");
        var untimed = parseResult.GetValue(warmup);
        if (untimed < 0) throw new UsageException($"--warmup must be >= 0 (got {untimed})");
        var r = Positive(parseResult.GetValue(rounds), "--rounds");
        var k = Positive(parseResult.GetValue(block), "--block");
        var every = parseResult.GetValue(checkpointEvery);
        if (every < 0) throw new UsageException($"--checkpoint-every must be >= 0 (got {every})");
        var limit = TimeSpan.FromSeconds(Positive(parseResult.GetValue(timeout), "--timeout"));
        var vote = parseResult.GetValue(stepVote) ?? "off";
        if (vote is not ("off" or "on" or "alternate")) throw new UsageException($"--step-vote must be off, on or alternate (got {vote})");
        var voted = new List<bool>();

        var scratch = Directory.CreateTempSubdirectory("cluster-bench-ddp-");
        var runs = new List<RunTimings>();
        try
        {
            for (var round = 0; round < r; round++)
            {
                var settings = new WorkerBenchSettings
                {
                    MaxSteps = untimed + timed, WarmupSteps = untimed, AlternateGradientSyncSteps = k,
                    CheckpointDirectory = every == 0 ? null : Path.Combine(scratch.FullName, $"round-{round}"),
                    CheckpointIntervalSteps = every,
                    StepVote = vote == "on" || (vote == "alternate" && round % 2 == 1),
                };
                await human.WriteLineAsync($"bench ddp: run {round + 1}/{r}, {untimed}+{timed} steps, blocks of {k} with and without gradient all-reduce").ConfigureAwait(false);
                var summary = await StaticRun.RunAsync(spec, file.FullName, n, perRank, settings, limit, human, cancellationToken).ConfigureAwait(false);
                if (!StaticRun.Succeeded(summary) || summary.Timings is not { } t)
                {
                    await human.WriteLineAsync($"bench ddp: run failed: {summary.Error ?? summary.Status}").ConfigureAwait(false);
                    if (asJson) Console.Out.WriteLine(summary.ToJson());
                    return ExitCodes.Failure;
                }
                runs.Add(t);
                voted.Add(settings.StepVote);
            }
        }
        finally
        {
            try { scratch.Delete(recursive: true); }
            catch (IOException) { /* best effort */ }
        }

        var result = BenchDdpResult.From(spec.Training.Model.Type, spec.Training.Precision, n, perRank, spec.Training.BatchSize, timed, k, runs, voted);
        await human.WriteLineAsync(result.Describe()).ConfigureAwait(false);
        if (asJson) Console.Out.WriteLine(JsonSerializer.Serialize(result));
        return ExitCodes.Success;
    }

    private static int Positive(int value, string name) =>
        value >= 1 ? value : throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{name} must be >= 1 (got {value})"));
}
