using Cluster.Abstractions;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Checkpoints;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>The trainer's hooks used by coordinated ranks: a callback per optimizer step and the checkpoint commit protocol.</summary>
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
    public async Task Saves_go_through_the_committer_at_interval_steps_epoch_ends_and_the_last_step()
    {
        var dir = Directory.CreateTempSubdirectory("cluster-hook-ckpt-");
        try
        {
            var spec = Spec();
            await using var communicator = new SingleProcessCommunicator();
            var committer = new Recorder(new LocalCheckpointCommitter(dir.FullName, LineageScan.Empty, 10, "hook", [], 3, 1));
            using (var trainer = new Trainer(spec, JobData.Load(spec), communicator, new TrainerOptions
            {
                SkipEvaluation = true, LoaderWorkers = 1, Checkpoints = committer, CheckpointIntervalSteps = 5,
            }))
                await trainer.RunAsync(CancellationToken.None);
            // 2 epochs of 8 steps: interval steps 5, 10, 15; epoch ends 8 and 16 (the last one final).
            Assert.Equal([(5L, false), (8L, false), (10L, false), (15L, false), (16L, true)], committer.Requests.Select(r => (r.Step, r.Final)));
            Assert.Equal((1, 0L), (committer.Requests[1].Cursor.Epoch, committer.Requests[1].Cursor.GlobalPosition));
            Assert.All(committer.Votes, v => Assert.Null(v.Error));
            Assert.All(committer.Votes, v => Assert.Equal([TrainerCheckpoint.ModelFile, TrainerCheckpoint.OptimizerFile, TrainerCheckpoint.ProgressFile], v.Files.Select(f => f.Name)));
            var last = CheckpointLineage.Scan(dir.FullName, 10).Latest!;
            Assert.True(last.Final);
            Assert.Equal(16, TrainerCheckpoint.PeekProgress(last).Step);
            using var reloaded = new Trainer(spec, JobData.Load(spec), communicator, new TrainerOptions { SkipEvaluation = true });
            reloaded.Model.load(Path.Combine(last.Directory, TrainerCheckpoint.ModelFile)); // TorchSharp format loads into a fresh model
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private sealed class Recorder(ICheckpointCommitter inner) : ICheckpointCommitter
    {
        public List<CheckpointRequest> Requests { get; } = [];
        public List<(IReadOnlyList<CheckpointFile> Files, string? Error)> Votes { get; } = [];

        public Task<CheckpointTicket?> OpenAsync(CheckpointRequest request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return inner.OpenAsync(request, cancellationToken);
        }

        public Task AckAsync(CheckpointTicket ticket, CheckpointRequest request, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken)
        {
            Votes.Add((files, error));
            return inner.AckAsync(ticket, request, files, error, cancellationToken);
        }
    }
}
