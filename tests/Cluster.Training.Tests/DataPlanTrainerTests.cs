using Cluster.Abstractions;
using Cluster.Training.Data;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;
using Cluster.Training.Models;
using Cluster.Training.Tests.Fakes;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>The data plan inside the trainer: the short final step of an epoch, the global batch (the same update on
/// 1, 2 or 3 ranks, shares unequal), and a learning-rate schedule that follows the samples consumed across a world-size
/// change.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class DataPlanTrainerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("t1-plan-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static TrainingSpec Spec(int samples, int batch, string schedule = "{ type: none }") => JobSpecLoader.Parse($$"""
        name: plan
        training:
          model: { type: mlp, dropout: 0 }
          dataset: { type: synthetic, samples: {{samples}}, testSamples: 32, classes: 4, shape: [1, 8, 8], noise: 0.6 }
          epochs: 2
          batchSize: {{batch}}
          optimizer: { type: sgd, lr: 0.1 }
          schedule: {{schedule}}
          seed: 9
        """).Training;

    private static float[] Weights(nn.Module m) => m.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray();

    [Fact]
    public async Task The_short_final_step_of_an_epoch_trains_its_real_samples_alone()
    {
        // 40 samples, batch 16, one rank: steps [0, 16), [16, 32), [32, 40). Plain SGD, so the third step's update is
        // lr × its gradient, which must be the mean gradient over its 8 samples (not the mean of fewer or of others).
        var spec = Spec(40, 16);
        spec.MaxSteps = 3;
        var data = JobData.Load(spec);
        var after = new Dictionary<long, float[]>();
        Trainer? trainer = null;
        var options = new TrainerOptions
        {
            SkipEvaluation = true,
            StepCompleted = (s, _) => { after[s.Step] = Weights(trainer!.Model); return Task.CompletedTask; },
        };
        using (trainer = new Trainer(spec, data, new SingleProcessCommunicator(), options))
            await trainer.RunAsync(CancellationToken.None);
        var applied = after[2].Zip(after[3], (a, b) => (a - b) / 0.1f).ToArray();

        var sampler = new DistributedSampler(data.Train.Count, new DistributedSamplerOptions { Seed = 9 }, 1, 0);
        using var loader = new DataLoader(data.Train, sampler, new DataLoaderOptions { BatchSize = 16, Seed = 9, Transforms = data.TrainTransforms },
            new SamplerCursor(0, 32));
        using var batch = loader.Next()!;
        Assert.Equal((8, 8L), (batch.ValidCount, batch.Images.shape[0]));
        var s = data.Shape;
        using var model = ModelFactory.Create(spec.Model, [s.Channels, s.Height, s.Width], data.Classes);
        float[] Gradient(int rows)
        {
            using var scope = NewDisposeScope();
            var offset = 0;
            foreach (var p in model.parameters())
            {
                using (no_grad()) p.copy_(tensor(after[2].AsSpan(offset, (int)p.numel()).ToArray()).reshape(p.shape));
                offset += (int)p.numel();
                p.grad?.zero_();
            }
            nn.functional.cross_entropy(model.call(batch.Images.narrow(0, 0, rows)), batch.Labels.narrow(0, 0, rows)).backward();
            return model.parameters().SelectMany(p => p.grad!.reshape(-1).data<float>().ToArray()).ToArray();
        }
        var realOnly = Gradient(8);
        var half = Gradient(4);
        Assert.All(realOnly.Zip(applied), x => Assert.InRange(x.Second - x.First, -2e-5f, 2e-5f));
        Assert.Contains(half.Zip(applied), x => Math.Abs(x.Second - x.First) > 1e-3f); // another mean would show
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)] // 24 = 8 + 8 + 8, but the epoch's short last step of 16 splits 6 + 5 + 5: weighted by the global count
    public async Task A_global_batch_gives_the_same_update_on_one_rank_with_accumulation_as_on_several(int world)
    {
        // 88 samples, global batch 24, at most 8 per rank: one rank runs 3 micro-batches per step, several ranks fewer.
        var spec = Spec(88, 8);
        spec.GlobalBatch = 24;
        spec.Optimizer.Momentum = 0.9;
        var alone = await WeightsAfterAsync(spec, 1);
        var together = await WeightsAfterAsync(spec, world);
        Assert.Equal(alone.Length, together.Length);
        var worst = alone.Zip(together, (a, b) => Math.Abs(a - b) / Math.Max(1e-3, Math.Abs(a))).Max();
        Assert.True(worst < 1e-4, $"largest relative difference {worst:E2}");
        spec.Scaling.Batch = "per-rank"; spec.GlobalBatch = 0; // 8 on each of 2 ranks: another global batch, another result
        var perRank = await WeightsAfterAsync(spec, 2);
        Assert.Contains(alone.Zip(perRank), x => Math.Abs(x.First - x.Second) > 1e-3);
    }

    /// <summary>The weights after 2 epochs on <paramref name="world"/> in-process ranks.</summary>
    private static async Task<float[]> WeightsAfterAsync(TrainingSpec spec, int world)
    {
        var comms = new ThreadGroup(world).CreateCommunicators();
        var trainers = Enumerable.Range(0, world).Select(r => new Trainer(spec, JobData.Load(spec), comms[r], new TrainerOptions { SkipEvaluation = true, LoaderWorkers = 1 })).ToArray();
        try
        {
            await Task.WhenAll(trainers.Select(t => Task.Run(() => t.RunAsync(CancellationToken.None)))).WaitAsync(TimeSpan.FromMinutes(1));
            return Weights(trainers[0].Model);
        }
        finally
        {
            foreach (var t in trainers) t.Dispose();
        }
    }

    [Theory]
    [InlineData("per-rank")]
    [InlineData("global")]
    public async Task The_learning_rate_follows_the_samples_consumed_when_a_job_resumes_at_another_world_size(string scaling)
    {
        // Warm-up 3 and a decay by 0.5 every 4 reference steps (one global batch of the starting world, 2 × 8). Two ranks
        // train 5 steps and checkpoint; one rank resumes. At every sampler position both runs pass, the resized job's
        // learning rate equals the uninterrupted two-rank job's. Per-rank: the lone rank steps 8 samples at a time (every
        // multiple of 16 is shared); global: it keeps steps of 16 (2 micro-batches of 8), the same positions.
        var spec = Spec(160, 8, "{ type: step, warmupSteps: 3, stepSize: 4, gamma: 0.5 }");
        spec.Scaling.Batch = scaling;
        var straight = await RatesAsync(spec, world: 2, root: null);
        var root = Path.Combine(dir, "resized-" + scaling);
        spec.MaxSteps = 5;
        var first = await RatesAsync(spec, world: 2, root);
        spec.MaxSteps = 0;
        var second = await RatesAsync(spec, world: 1, root);
        Assert.Equal(5, first.Count);
        var lone = scaling == "global" ? 16 : 8;
        Assert.Equal(5 + (160 - 80) / lone + 160 / lone, first.Count + second.Count);
        var resized = first.Concat(second).ToDictionary(r => r.Key, r => r.Value);
        var shared = straight.Keys.Intersect(resized.Keys).ToArray();
        Assert.Equal(straight.Count, shared.Length); // every two-rank position is also one of the resized run's
        if (scaling == "global") Assert.Equal(straight.Count, resized.Count); // and the same steps
        Assert.All(shared, k => Assert.Equal(straight[k], resized[k], 12));
        Assert.True(straight.Values.Distinct().Count() >= 4, "the schedule should move in this test");
    }

    /// <summary>The learning rate after every optimizer step, keyed by (epoch, position) of the sampler after it (rank 0).</summary>
    private static async Task<Dictionary<(int, long), double>> RatesAsync(TrainingSpec spec, int world, string? root)
    {
        var rates = new Dictionary<(int, long), double>();
        var comms = new ThreadGroup(world).CreateCommunicators();
        var trainers = new Trainer[world];
        for (var r = 0; r < world; r++)
        {
            var rank = r;
            var options = new TrainerOptions
            {
                SkipEvaluation = true, LoaderWorkers = 1,
                StepCompleted = (s, _) =>
                {
                    if (rank == 0) rates[(s.Cursor.Epoch, s.Cursor.GlobalPosition)] = trainers[0].LearningRate;
                    return Task.CompletedTask;
                },
            }.In(root, rank, world);
            trainers[r] = new Trainer(spec, JobData.Load(spec), comms[r], options);
        }
        try
        {
            await Task.WhenAll(trainers.Select(t => Task.Run(() => t.RunAsync(CancellationToken.None)))).WaitAsync(TimeSpan.FromMinutes(1));
        }
        finally
        {
            foreach (var t in trainers) t.Dispose();
        }
        return rates;
    }
}
