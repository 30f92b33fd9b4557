using Cluster.Abstractions;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>The trainer's hooks used by coordinated ranks: a callback per optimizer step and synchronous per-rank checkpoint files.</summary>
[Collection(AgentProcessesCollection.Name)]
public sealed class AgentTrainerHookTests
{
    private static TrainingSpec Spec() => JobSpecLoader.Parse("""
        name: hook
        training:
          model: { type: mlp, dropout: 0 }
          dataset: { type: synthetic, samples: 256, testSamples: 64, classes: 4, shape: [1, 8, 8] }
          epochs: 2
          batchSize: 32
          optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
          seed: 3
        """).Training;

    [Fact]
    public async Task Step_hook_sees_every_step_with_an_advancing_cursor_and_a_finite_loss()
    {
        var steps = new List<TrainerStep>();
        var spec = Spec();
        await using var communicator = new SingleProcessCommunicator();
        using var trainer = new Trainer(spec, JobData.Load(spec), communicator, new TrainerOptions
        {
            SkipEvaluation = true, LoaderWorkers = 1,
            StepCompleted = (s, _) => { steps.Add(s); return Task.CompletedTask; },
        });
        var result = await trainer.RunAsync(CancellationToken.None);
        Assert.Equal(16, result.Steps);
        Assert.Equal(Enumerable.Range(1, 16).Select(i => (long)i), steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.True(double.IsFinite(s.Loss) && s.Loss > 0));
        Assert.Equal((0, 32L), (steps[0].Cursor.Epoch, steps[0].Cursor.GlobalPosition));
        Assert.Equal((1, 256L), (steps[^1].Cursor.Epoch, steps[^1].Cursor.GlobalPosition));
    }

    [Fact]
    public async Task Coordinated_checkpoint_files_are_written_durably_and_the_model_loads_back()
    {
        var dir = Directory.CreateTempSubdirectory("cluster-hook-ckpt-");
        try
        {
            var spec = Spec();
            await using var communicator = new SingleProcessCommunicator();
            IReadOnlyList<string>? names = null;
            Trainer? current = null;
            using var trainer = new Trainer(spec, JobData.Load(spec), communicator, new TrainerOptions
            {
                SkipEvaluation = true, LoaderWorkers = 1,
                StepCompleted = (s, _) =>
                {
                    if (s.Step == 5) names = current!.WriteCoordinatedCheckpoint(dir.FullName, s.Cursor);
                    return Task.CompletedTask;
                },
            });
            current = trainer;
            await trainer.RunAsync(CancellationToken.None);
            Assert.Equal(["rank-0.json", TrainerCheckpoint.ModelFile, TrainerCheckpoint.OptimizerFile, TrainerCheckpoint.ProgressFile], names);
            Assert.All(names!, n => Assert.True(new FileInfo(Path.Combine(dir.FullName, n)).Length > 0));
            Assert.Empty(Directory.GetFiles(dir.FullName, "*.tmp"));
            Assert.Contains("\"step\": 5", File.ReadAllText(Path.Combine(dir.FullName, "rank-0.json")).Replace("\"step\":5", "\"step\": 5"));
            using var reloaded = new Trainer(spec, JobData.Load(spec), communicator, new TrainerOptions { SkipEvaluation = true });
            reloaded.Model.load(Path.Combine(dir.FullName, TrainerCheckpoint.ModelFile)); // TorchSharp format loads into a fresh model
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
