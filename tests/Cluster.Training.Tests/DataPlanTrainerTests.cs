using Cluster.Abstractions;
using Cluster.Training.Data;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;
using Cluster.Training.Models;
using Cluster.Training.Tests.Fakes;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>The data plan inside the trainer: masked padding in the last partial step, and a learning-rate schedule that
/// follows the samples consumed across a world-size change.</summary>
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
    public async Task The_padded_final_step_of_an_epoch_trains_only_its_real_samples()
    {
        // 40 samples, batch 16, one rank: steps [0, 16), [16, 32), [32, 40) + 8 positions of padding. Plain SGD, so the
        // third step's update is lr × its gradient, which must be the mean gradient over the 8 real samples alone.
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
        Assert.Equal(8, batch.ValidCount);
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
        var withPadding = Gradient(16);
        Assert.All(realOnly.Zip(applied), x => Assert.InRange(x.Second - x.First, -2e-5f, 2e-5f));
        Assert.Contains(withPadding.Zip(applied), x => Math.Abs(x.Second - x.First) > 1e-3f); // training the padding would show
    }

    [Fact]
    public async Task The_learning_rate_follows_the_samples_consumed_when_a_job_resumes_at_another_world_size()
    {
        // Warm-up 3 and a decay by 0.5 every 4 reference steps (one global batch of the starting world, 2 × 8). Two ranks
        // train 5 steps and checkpoint; one rank resumes. At every sampler position both runs pass (multiples of 16), the
        // resized job's learning rate equals the uninterrupted two-rank job's.
        var spec = Spec(160, 8, "{ type: step, warmupSteps: 3, stepSize: 4, gamma: 0.5 }");
        var straight = await RatesAsync(spec, world: 2, root: null);
        var root = Path.Combine(dir, "resized");
        spec.MaxSteps = 5;
        var first = await RatesAsync(spec, world: 2, root);
        spec.MaxSteps = 0;
        var second = await RatesAsync(spec, world: 1, root);
        Assert.Equal(5, first.Count);
        Assert.Equal(5 + (160 - 80) / 8 + 160 / 8, first.Count + second.Count);
        var resized = first.Concat(second).ToDictionary(r => r.Key, r => r.Value);
        var shared = straight.Keys.Intersect(resized.Keys).ToArray();
        Assert.Equal(straight.Count, shared.Length); // every two-rank position is also one of the resized run's
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
