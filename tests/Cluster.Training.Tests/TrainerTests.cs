using Cluster.Abstractions;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

[Collection(SerialTorchCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "t1-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    internal static TrainingSpec Spec(string model = "mlp", int epochs = 2, double dropout = 0) => JobSpecLoader.Parse($$"""
        name: t
        training:
          model: { type: {{model}}, dropout: {{dropout}} }
          dataset: { type: synthetic, samples: 256, testSamples: 128, classes: 4, shape: [1, 8, 8] }
          epochs: {{epochs}}
          batchSize: 16
          optimizer: { type: sgd, lr: 0.05, momentum: 0.9 }
          seed: 3
        """).Training;

    private static float[] Weights(nn.Module m) => m.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray();

    [Fact]
    public async Task Learns_synthetic_data_and_reports_metrics()
    {
        var spec = Spec(epochs: 2);
        using var trainer = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator());
        var result = await trainer.RunAsync(CancellationToken.None);
        Assert.Equal("completed", result.Status);
        Assert.Equal(2 * 256 / 16, result.Steps);
        Assert.True(result.Test!.Accuracy > 0.9, $"accuracy {result.Test.Accuracy}");
        Assert.Equal(128, result.Test.Samples);
        Assert.Equal(128, result.Test.Confusion.Cast<long>().Sum());
        Assert.All(result.Test.F1, f => Assert.InRange(f, 0, 1));
        Assert.True(result.SamplesPerSecond > 0);
    }

    [Fact]
    public async Task Resume_continues_bit_for_bit()
    {
        // S = 5 steps, save, a new trainer resumes for K = 7 more; compare with 12 uninterrupted steps.
        // Dropout and momentum are on: the RNG is reseeded per step and the optimizer state is checkpointed.
        var spec = Spec(epochs: 2, dropout: 0.3);
        var options = new TrainerOptions { SkipEvaluation = true };
        spec.MaxSteps = 5;
        using (var first = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator(), options.In(Path.Combine(dir, "a"))))
            Assert.Equal(5, (await first.RunAsync(CancellationToken.None)).Steps);
        spec.MaxSteps = 12;
        float[] resumed;
        using (var second = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator(), options.In(Path.Combine(dir, "a"))))
        {
            Assert.Equal(12, (await second.RunAsync(CancellationToken.None)).Steps);
            resumed = Weights(second.Model);
        }
        using var straight = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator(), options.In(Path.Combine(dir, "b")));
        await straight.RunAsync(CancellationToken.None);
        Assert.Equal(Weights(straight.Model), resumed);
    }

    [Fact]
    public async Task Gradient_accumulation_of_2x8_equals_batch_16()
    {
        var options = new TrainerOptions { SkipEvaluation = true };
        var big = Spec(epochs: 1);
        var small = Spec(epochs: 1);
        small.BatchSize = 8;
        small.GradAccumulation = 2;
        using var a = new Trainer(big, JobData.Load(big), new SingleProcessCommunicator(), options);
        using var b = new Trainer(small, JobData.Load(small), new SingleProcessCommunicator(), options);
        Assert.Equal(16, (await a.RunAsync(CancellationToken.None)).Steps);
        Assert.Equal(16, (await b.RunAsync(CancellationToken.None)).Steps);
        DdpTests.AssertClose(Weights(a.Model), Weights(b.Model), 1e-5);
    }

    [Fact]
    public async Task Bf16_precision_trains_with_fp32_master_weights()
    {
        foreach (var model in new[] { "cnn", "resnet20" })
        {
            var spec = Spec(model: model, epochs: 1);
            spec.Precision = "bf16";
            if (model == "resnet20") spec.MaxSteps = 4; // keep it quick: this one only checks the BatchNorm path
            var started = System.Diagnostics.Stopwatch.StartNew();
            using var trainer = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator());
            var result = await trainer.RunAsync(CancellationToken.None);
            Assert.All(trainer.Model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
            Console.WriteLine($"bf16 {model}: {started.Elapsed.TotalSeconds:F1} s, accuracy {result.Test!.Accuracy}");
            Assert.True(double.IsFinite(result.Test!.Loss));
            if (model == "cnn") Assert.True(result.Test.Accuracy > 0.5, $"{model} accuracy {result.Test.Accuracy}");
            if (model == "resnet20") // BatchNorm statistics moved away from their initial values and reached the master
                Assert.Contains(trainer.Model.named_buffers(), b => b.name.EndsWith("running_mean") && b.buffer.abs().sum().item<float>() > 0);
        }
    }

    [Fact]
    public async Task Non_finite_loss_skips_steps_then_fails_after_tolerance()
    {
        var spec = Spec(epochs: 1);
        spec.Optimizer.Lr = 1e30; // the first step blows the weights up; later losses are NaN/Inf
        spec.NanTolerance = 2;
        var log = new List<string>();
        using var trainer = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator(), new TrainerOptions { Log = log.Add });
        var ex = await Assert.ThrowsAsync<TrainingDivergedException>(() => trainer.RunAsync(CancellationToken.None));
        Assert.Contains("nanTolerance 2", ex.Message);
        Assert.Equal(2, log.Count(l => l.Contains("step skipped")));
    }

    [Fact]
    public async Task Early_stopping_stops_when_metric_stalls()
    {
        var spec = Spec(epochs: 20);
        spec.Optimizer.Lr = 1e-9; // nothing improves
        spec.EarlyStopping = new EarlyStoppingSpec { Metric = "test_loss", Patience = 2, MinDelta = 0.01 };
        using var trainer = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator());
        var result = await trainer.RunAsync(CancellationToken.None);
        Assert.Equal("early_stopped", result.Status);
        Assert.Equal(3, result.Epochs);
    }

    [Fact]
    public async Task Finetune_freezes_by_pattern_replaces_head_and_unfreezes()
    {
        var spec = Spec(epochs: 1);
        using (var pre = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator(), TestCheckpoints.In(null, Path.Combine(dir, "pre"))))
            await pre.RunAsync(CancellationToken.None);
        float[] pretrainedFc1 = new float[0];
        using (var m = new Trainer(spec, JobData.Load(spec), new SingleProcessCommunicator()))
        {
            m.Model.load(TrainerCheckpoint.ModelFileOfLatest(Path.Combine(dir, "pre"))!);
            pretrainedFc1 = m.Model.named_parameters().First(p => p.name == "fc1.weight").parameter.detach().reshape(-1).data<float>().ToArray();
        }
        var ft = Spec(epochs: 1);
        ft.Finetune = new FinetuneSpec { From = Path.Combine(dir, "pre"), Freeze = ["^fc1\\."], ReplaceHead = true };
        using var trainer = new Trainer(ft, JobData.Load(ft), new SingleProcessCommunicator());
        Assert.False(trainer.Model.named_parameters().First(p => p.name == "fc1.weight").parameter.requires_grad);
        await trainer.RunAsync(CancellationToken.None);
        var after = trainer.Model.named_parameters().First(p => p.name == "fc1.weight").parameter.detach().reshape(-1).data<float>().ToArray();
        Assert.Equal(pretrainedFc1, after); // frozen: unchanged

        ft.Epochs = 2;
        ft.Finetune.UnfreezeAtEpoch = 2;
        using var thawing = new Trainer(ft, JobData.Load(ft), new SingleProcessCommunicator());
        await thawing.RunAsync(CancellationToken.None);
        var thawed = thawing.Model.named_parameters().First(p => p.name == "fc1.weight").parameter;
        Assert.True(thawed.requires_grad);
        Assert.NotEqual(pretrainedFc1, thawed.detach().reshape(-1).data<float>().ToArray());
    }
}
