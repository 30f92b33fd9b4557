using System.Globalization;
using Cluster.Abstractions;
using Cluster.Cli.Commands.Run;
using Cluster.Collectives;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;
using System.CommandLine;
using Cluster.Cli.Commands.Cluster;

namespace Cluster.Cli.Commands;

/// <summary>Hidden `cluster worker`: one rank of a `cluster run` job. Reads its config from the file named by
/// CLUSTER_WORKER_CONFIG and its rank from CLUSTER_RANK, joins the process group and trains.</summary>
internal sealed class WorkerCommand : BaseCommand
{
    private readonly Option<bool> coordinated = new("--coordinated")
    {
        Description = "Started by a node agent: join the coordinator's rendezvous (job, node, local rank, secret and gateway from the environment)",
    };

    public WorkerCommand() : base("worker", "Run one rank of a local job (started by `cluster run`)")
    {
        Hidden = true;
        Options.Add(coordinated);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(coordinated)) return await CoordinatedWorker.RunAsync(cancellationToken).ConfigureAwait(false);
        var configPath = Environment.GetEnvironmentVariable(WorkerConfig.PathVariable)
            ?? throw new UsageException($"{WorkerConfig.PathVariable} is not set (the worker command is started by `cluster run`)");
        var rankText = Environment.GetEnvironmentVariable(WorkerConfig.RankVariable)
            ?? throw new UsageException($"{WorkerConfig.RankVariable} is not set");
        if (!int.TryParse(rankText, NumberStyles.None, CultureInfo.InvariantCulture, out var rank)) throw new UsageException($"{WorkerConfig.RankVariable} '{rankText}' is not a rank");
        var config = WorkerConfig.Read(configPath);
        var spec = JobSpecLoader.LoadFile(config.SpecPath);
        // Idle OpenMP threads sleep instead of spinning on cores the communicator and the other ranks need (a user's own
        // OMP_WAIT_POLICY wins); must precede the first TorchSharp call.
        global::Cluster.Training.Engine.OpenMpWaitPolicy.Apply("PASSIVE");
        TorchSharp.torch.set_num_threads(config.ThreadsPerRank);
        void Log(string line) => Console.Out.WriteLine(line);
        try
        {
            var peers = config.Ports.Select((port, r) => new PeerInfo(r, config.Hosts[r], port, "local")).ToList();
            await using var communicator = await Communicator.CreateAsync(new CommunicatorOptions
            {
                JobId = config.JobId, Generation = 0, Rank = rank, Peers = peers, Secret = Convert.FromHexString(config.SecretHex),
                CompressFloat32AsBFloat16 = spec.Training.Ddp.CompressBf16,
            }, cancellationToken).ConfigureAwait(false);
            var data = JobData.Load(spec.Training);
            if (rank == 0) Log($"train {data.Train.Count} / test {data.Test.Count} samples of {data.Shape}, {data.Classes} classes, model {spec.Training.Model.Type}, precision {spec.Training.Precision}");
            if (rank == 0) Log("glibc malloc: " + global::Cluster.Training.Engine.RankMallocSettings.InEffect());
            var bench = config.Bench;
            if (bench is not null) spec.Training.MaxSteps = bench.MaxSteps;
            var (committer, restoreFrom, note) = StaticCheckpoints.Open(spec, bench is not null ? bench.CheckpointDirectory : spec.Checkpoint.Dir,
                fresh: config.Fresh || bench is not null, rank, communicator.WorldSize);
            if (rank == 0 && note is not null) Log(note);
            var options = new TrainerOptions
            {
                Log = rank == 0 ? Log : null,
                Checkpoints = committer,
                RestoreFrom = restoreFrom,
                CheckpointIntervalSteps = bench?.CheckpointIntervalSteps ?? spec.Checkpoint.IntervalSteps,
                SkipEvaluation = bench is not null,
                AlternateGradientSyncSteps = bench?.AlternateGradientSyncSteps ?? 0,
                TimingWarmupSteps = bench?.WarmupSteps ?? 0,
                StepVote = bench?.StepVote == true ? () => false : null,
                Ddp = new DdpOptions
                {
                    BucketBytes = spec.Training.Ddp.BucketBytes(),
                    SyncBatchNormStats = spec.Training.Ddp.SyncBatchNorm,
                    GradientsCompressedAsBFloat16 = spec.Training.Ddp.CompressBf16,
                },
            };
            using var trainer = new Trainer(spec.Training, data, communicator, options);
            var result = await trainer.RunAsync(cancellationToken).ConfigureAwait(false);
            if (rank == 0 && result.Test is { } test)
            {
                Log("class  precision  recall  f1      confusion row (predicted 0..n-1)");
                for (var c = 0; c < test.F1.Length; c++)
                {
                    var row = string.Join(" ", Enumerable.Range(0, test.F1.Length).Select(p => test.Confusion[c, p].ToString(CultureInfo.InvariantCulture)));
                    Log(string.Create(CultureInfo.InvariantCulture, $"{c,5}  {test.Precision[c],9:F4}  {test.Recall[c],6:F4}  {test.F1[c],6:F4}  {row}"));
                }
            }
            if (rank == 0)
            {
                var summary = new RunSummary
                {
                    Status = result.Status, Epochs = result.Epochs, Steps = result.Steps, SkippedSteps = result.SkippedSteps,
                    TrainLoss = result.TrainLoss, TestAccuracy = result.Test?.Accuracy, TestLoss = result.Test?.Loss,
                    TestMacroF1 = result.Test?.MacroF1, SamplesPerSec = result.SamplesPerSecond, WallSeconds = result.WallSeconds,
                    Workers = communicator.WorldSize, Timings = RunTimings.From(result.Timings),
                };
                var temp = config.ResultPath + ".tmp";
                await File.WriteAllTextAsync(temp, summary.ToJson(), cancellationToken).ConfigureAwait(false);
                File.Move(temp, config.ResultPath, overwrite: true);
            }
            return ExitCodes.Success;
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"rank {rank}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"rank {rank} failed: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
    }
}
