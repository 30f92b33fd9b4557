using Cluster.Abstractions;
using Cluster.Training.Data;
using Cluster.Training.Engine;
using Cluster.Training.Models;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace Cluster.Training.Audit;

/// <summary>
/// Replays, in one process, the optimizer steps an audit says are in a job's final state (<see cref="AuditLog.KeptSteps"/>,
/// steps 1..S), from the spec's initial model: for each step it rebuilds every rank's micro-batches of that step's
/// generation from the data plan (world size W, the global batch), checks them against the ids the ranks recorded, runs
/// each rank's forward and backward passes with the ranks' own code (<see cref="MicroBatchPass"/>), averages the W
/// gradients with the ranks' own all-reduce (<see cref="ReplayReduction"/>: same buckets, same algorithm, so the same sums
/// and roundings) and takes the optimizer and schedule step. The result must equal the job's final parameters: proof that the state the job ended with is the training of
/// exactly these batches, and not just that its ranks agree with one another.
/// <para>Replays fp32 training of models without buffers (the MLP and the CNN); bf16 compute, fine-tuning, the plateau
/// schedule (it steps on evaluation losses), bf16-compressed gradients and BatchNorm statistics are refused.</para>
/// </summary>
public static class AuditReplay
{
    /// <summary>What a replay did: the steps replayed and how many runs of steps a generation and epoch made.</summary>
    public sealed record Result(long Steps, int Segments, int ReferenceWorld);

    /// <summary>Why a spec or model cannot be replayed, or null when it can.</summary>
    public static string? Unsupported(TrainingSpec spec, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        if (spec.Precision == "bf16") return "bf16 compute is not replayed";
        if (spec.Finetune is not null) return "fine-tuning is not replayed";
        if (spec.Schedule.Type == "plateau") return "the plateau schedule steps on evaluation losses and is not replayed";
        if (spec.Ddp.CompressBf16) return "bf16-compressed gradients are not replayed";
        if (model.buffers().Any()) return "models with buffers (BatchNorm statistics) are not replayed";
        return null;
    }

    /// <summary>A new model of the spec's architecture, initialised as every rank initialises it (the spec's seed).</summary>
    public static nn.Module<Tensor, Tensor> CreateModel(TrainingSpec spec, JobData data)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        var s = data.Shape;
        manual_seed(spec.Seed);
        return ModelFactory.Create(spec.Model, [s.Channels, s.Height, s.Width], data.Classes);
    }

    /// <summary>Replays <paramref name="log"/>'s kept steps into <paramref name="model"/> (from <see cref="CreateModel"/>).</summary>
    /// <exception cref="InvalidDataException">The audit does not hold steps 1..S, or what a rank recorded is not what the data plan gives.</exception>
    public static Result Run(TrainingSpec spec, JobData data, AuditLog log, nn.Module<Tensor, Tensor> model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (Unsupported(spec, model) is { } why) throw new NotSupportedException(why);
        var kept = log.KeptSteps();
        for (var i = 0; i < kept.Count; i++)
            if (kept[i].Step != i + 1) throw new InvalidDataException($"the audit's final state lacks optimizer step {i + 1} (it holds {kept.Count} steps up to {log.FinalStep})");
        if (kept.Count == 0) return new Result(0, 0, 0);
        model.train();
        var trainable = model.parameters().Where(p => p.requires_grad).ToArray();
        using var optimizer = OptimizerFactory.Create(spec.Optimizer, trainable);
        var referenceWorld = WorldOf(log, kept[0].Key);
        var epochLength = new DistributedSampler(data.Train.Count, SamplerOptions(spec), referenceWorld, 0).EpochLength;
        var clock = ScheduleClock.Of(spec, epochLength, referenceWorld);
        var schedule = new LearningRateSchedule(optimizer, spec.Schedule, spec.Optimizer.Lr, clock.TotalSteps(spec));
        DataLoader[] loaders = [];
        SamplerCursor? next = null; // where the loaders stand
        var segments = 0;
        var reduction = new ReplayReduction(trainable, spec.Ddp.BucketBytes());
        try
        {
            foreach (var (step, key) in kept)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var world = WorldOf(log, key);
                if (next is null || loaders.Length != world || next.Epoch != key.Epoch || next.GlobalPosition != key.Start || loaders[0].Epoch != key.Epoch)
                {
                    foreach (var l in loaders) l.Dispose();
                    loaders = Loaders(spec, data, world, referenceWorld, new SamplerCursor(key.Epoch, key.Start));
                    segments++;
                }
                next = ReplayStep(spec, log, step, key, loaders, model, trainable, optimizer, reduction, cancellationToken);
                MicroBatchPass.OptimizerStep(optimizer, clock.LearningRateScale(spec, world));
                optimizer.zero_grad();
                schedule.AdvanceTo(clock.StepsAt(next));
            }
        }
        finally
        {
            foreach (var l in loaders) l.Dispose();
            reduction.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return new Result(kept.Count, segments, referenceWorld);
    }

    /// <summary>
    /// Every rank's micro-batches of one step, checked against the audit, their gradients averaged over the ranks and
    /// clipped as the ranks do (the caller steps the optimizer). Returns the cursor after the step.
    /// </summary>
    private static SamplerCursor ReplayStep(TrainingSpec spec, AuditLog log, long step, AuditLog.StepKey key, DataLoader[] loaders,
        nn.Module<Tensor, Tensor> model, Parameter[] trainable, optim.Optimizer optimizer, ReplayReduction reduction, CancellationToken cancellationToken)
    {
        var world = loaders.Length;
        SamplerCursor? after = null;
        for (var rank = 0; rank < world; rank++)
        {
            optimizer.zero_grad();
            var ids = new List<int>();
            var weighting = default(StepWeighting);
            for (var first = true; ; first = false)
            {
                using var batch = loaders[rank].Next() ?? throw new InvalidDataException($"step {step} ({key}): the data plan of rank {rank} of {world} ends before the step does");
                if (batch.Plan.StepStart != key.Start)
                    throw new InvalidDataException($"step {step} ({key}): rank {rank}'s next micro-batch starts at {batch.Plan.StepStart} in the data plan");
                if (first) weighting = StepWeighting.Of(batch.Plan, world);
                ids.AddRange(batch.Indices.Take(batch.ValidCount));
                MicroBatchPass.ForwardBackward(model, batch, weighting, ScalarType.Float32, spec.Seed);
                if (!batch.Plan.LastOfStep) continue;
                after = batch.CursorAfter;
                break;
            }
            var recorded = log.Reads[key].Where(r => r.Rank == rank).SelectMany(r => r.Ids).ToArray();
            if (!recorded.SequenceEqual(ids))
                throw new InvalidDataException($"step {step} ({key}): rank {rank} of {world} recorded {recorded.Length} sample id(s) that are not the {ids.Count} the data plan gives");
            if (world > 1) reduction.Stage(rank);
        }
        if (world > 1) reduction.Reduce(world, cancellationToken); // the all-reduce's average, by the ranks' own collectives
        var norm = nn.utils.clip_grad_norm_(trainable, spec.ClipGradNorm > 0 ? spec.ClipGradNorm : 1e30);
        if (!double.IsFinite(norm)) throw new InvalidDataException($"step {step} ({key}) was applied by the job but its replayed gradient norm is {norm}");
        return after!;
    }

    /// <summary>The world size of the generation that read <paramref name="key"/>, checked: every rank 0..W-1 read it and all say W.</summary>
    private static int WorldOf(AuditLog log, AuditLog.StepKey key)
    {
        var reads = log.Reads.TryGetValue(key, out var r) ? r : throw new InvalidDataException($"step {key} was applied but no rank recorded reading it");
        var world = reads[0].World;
        if (world < 1) throw new InvalidDataException($"the audit of step {key} does not record the world size (written by an older version)");
        if (reads.Any(m => m.World != world) || reads.Select(m => m.Rank).Distinct().Order().SequenceEqual(Enumerable.Range(0, world)) is false)
            throw new InvalidDataException($"the reads of step {key} are not those of ranks 0..{world - 1} of a world of {world}");
        return world;
    }

    private static DistributedSamplerOptions SamplerOptions(TrainingSpec spec) => new() { Seed = unchecked((ulong)spec.Seed) };

    /// <summary>The loaders of ranks 0..W-1 from <paramref name="cursor"/>, configured as the ranks configure theirs.</summary>
    private static DataLoader[] Loaders(TrainingSpec spec, JobData data, int world, int referenceWorld, SamplerCursor cursor)
    {
        var options = new DataLoaderOptions
        {
            BatchSize = spec.BatchSize, GlobalBatch = spec.GlobalBatchAt(world, referenceWorld), Workers = 1, Seed = unchecked((ulong)spec.Seed),
            Transforms = data.TrainTransforms,
        };
        return [.. Enumerable.Range(0, world).Select(rank => new DataLoader(data.Train, new DistributedSampler(data.Train.Count, SamplerOptions(spec), world, rank), options, cursor))];
    }

    /// <summary>
    /// The largest relative difference ‖a − b‖ / ‖b‖ over the named parameters of two models of one architecture, and how
    /// many of them are bit-identical.
    /// </summary>
    public static (double MaxRelative, int Identical, int Count) Compare(nn.Module a, nn.Module b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var other = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double max = 0;
        int identical = 0, count = 0;
        foreach (var (name, p) in a.named_parameters())
        {
            if (!other.TryGetValue(name, out var q) || !q.shape.SequenceEqual(p.shape)) throw new ArgumentException($"the models differ in parameter {name}");
            using var scope = NewDisposeScope();
            using var pd = p.detach().to_type(ScalarType.Float64);
            using var qd = q.detach().to_type(ScalarType.Float64);
            var norm = qd.norm().item<double>();
            var d = (pd - qd).norm().item<double>();
            max = Math.Max(max, norm > 0 ? d / norm : d);
            if (d == 0) identical++;
            count++;
        }
        if (count != other.Count) throw new ArgumentException("the models differ in their parameters");
        return (max, identical, count);
    }
}
