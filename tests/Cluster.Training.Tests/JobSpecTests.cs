using Cluster.Abstractions;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class JobSpecTests
{
    private const string Good = """
        name: fmnist-cnn
        workers: { min: 2, max: 4, nprocPerNode: 2 }
        training:
          model: { type: cnn, dropout: 0.25 }
          dataset: { type: fashion-mnist, path: /usr/share/datasets/fashion-mnist }
          epochs: 5
          batchSize: 64
          optimizer: { type: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.0005 }
          schedule: { type: cosine, warmupSteps: 100 }
          gradAccumulation: 2
          clipGradNorm: 5
          precision: bf16
          earlyStopping: { metric: test_accuracy, patience: 2, minDelta: 0.001 }
          augmentation: { randomCropPadding: 2, horizontalFlip: true }
          seed: 7
          finetune: { from: base.pt, freeze: ["^conv", "fc1\\..*"], replaceHead: true, unfreezeAtEpoch: 3 }
        checkpoint: { dir: ckpt, intervalSteps: 500, keepLast: 2 }
        restart: { maxRestarts: 5 }
        """;

    [Fact]
    public void Parses_every_section()
    {
        var spec = JobSpecLoader.Parse(Good);
        Assert.Equal("fmnist-cnn", spec.Name);
        Assert.Equal(4, spec.Workers.Max);
        Assert.Equal("cnn", spec.Training.Model.Type);
        Assert.Equal(0.9, spec.Training.Optimizer.Momentum);
        Assert.True(spec.Training.Optimizer.Nesterov);
        Assert.Equal("cosine", spec.Training.Schedule.Type);
        Assert.Equal(100, spec.Training.Schedule.WarmupSteps);
        Assert.Equal("bf16", spec.Training.Precision);
        Assert.Equal("test_accuracy", spec.Training.EarlyStopping!.Metric);
        Assert.Equal(["^conv", "fc1\\..*"], spec.Training.Finetune!.Freeze);
        Assert.Equal(3, spec.Training.Finetune.UnfreezeAtEpoch);
        Assert.Equal(500, spec.Checkpoint.IntervalSteps);
        Assert.Equal(5, spec.Restart.MaxRestarts);
    }

    [Fact]
    public void Round_trips_through_yaml()
    {
        var spec = JobSpecLoader.Parse(Good);
        var again = JobSpecLoader.Parse(JobSpecLoader.ToYaml(spec));
        Assert.Equal(JobSpecLoader.ToYaml(spec), JobSpecLoader.ToYaml(again));
    }

    [Fact]
    public void Unknown_field_names_field_and_line()
    {
        var yaml = "name: x\ntraining:\n  epochs: 2\n  learningRate: 0.1\n";
        var ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse(yaml));
        var error = Assert.Single(ex.Errors);
        Assert.Equal(4, error.Line);
        Assert.Contains("learningRate", error.Message);
        Assert.Contains("line 4", ex.Message);
    }

    [Fact]
    public void Malformed_value_names_field_and_line()
    {
        var yaml = "name: x\ntraining:\n  epochs: 2\n  batchSize: lots\n";
        var ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse(yaml));
        var error = Assert.Single(ex.Errors);
        Assert.Equal(4, error.Line);
        Assert.Equal("training.batchSize", error.Path);
    }

    [Fact]
    public void The_wait_for_replacements_defaults_to_a_minute_and_is_bounded_below_the_agents_wait()
    {
        Assert.Equal(60, JobSpecLoader.Parse("name: w").Restart.WaitSeconds);
        Assert.Equal((5, 10.0), (JobSpecLoader.Parse("name: w").Restart.ProbationFailures, JobSpecLoader.Parse("name: w").Restart.ProbationMinutes));
        var probation = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse("name: w\nrestart: { probationFailures: -1, probationMinutes: 0 }\n"));
        Assert.Equal(["restart.probationFailures", "restart.probationMinutes"], probation.Errors.Select(e => e.Path).Order());
        Assert.Equal(5, JobSpecLoader.Parse("name: w\nrestart: { waitSeconds: 5 }\n").Restart.WaitSeconds);
        foreach (var bad in new[] { "0", "241" })
        {
            var ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse($"name: w\nrestart: {{ waitSeconds: {bad} }}\n"));
            Assert.Contains("<= 240", Assert.Single(ex.Errors, e => e.Path == "restart.waitSeconds").Message);
        }
    }

    [Fact]
    public void The_global_batch_and_its_scaling_parse_and_are_checked()
    {
        var spec = JobSpecLoader.Parse("""
            name: g
            training:
              batchSize: 32
              globalBatch: 128
              scaling: { batch: global }
            """);
        Assert.Equal((128, false), (spec.Training.GlobalBatch, spec.Training.Scaling.IsPerRank()));
        Assert.Equal("global", JobSpecLoader.Parse("name: d").Training.Scaling.Batch); // the default
        var ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse("""
            name: g
            training:
              globalBatch: 128
              scaling: { batch: per-rank }
            """));
        Assert.Contains("per-rank", Assert.Single(ex.Errors, e => e.Path == "training.globalBatch").Message);
        ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse("name: g\ntraining:\n  scaling: { batch: linear }\n"));
        Assert.Contains("per-rank", Assert.Single(ex.Errors, e => e.Path == "training.scaling.batch").Message);
    }

    [Fact]
    public void Rank_bounds_default_from_the_nodes_and_maxRanks_past_them_is_refused_naming_the_field()
    {
        var spec = JobSpecLoader.Parse("name: r\nworkers: { min: 1, max: 2, nprocPerNode: 3 }\n");
        Assert.Equal((3, 6), spec.Workers.RankBounds(1, 2, 3, "r.yaml"));
        spec = JobSpecLoader.Parse("name: r\nworkers: { nprocPerNode: 3, maxRanks: 2 }\n");
        Assert.Equal((2, 2), spec.Workers.RankBounds(1, 1, 3, "r.yaml")); // the start size is capped by maxRanks
        var ex = Assert.Throws<JobSpecException>(() => spec.Workers.RankBounds(1, 1, 1, "r.yaml"));
        Assert.Contains("must be <= 1", Assert.Single(ex.Errors, e => e.Path == "workers.maxRanks").Message);
        spec = JobSpecLoader.Parse("name: r\nworkers: { minRanks: 3 }\n");
        ex = Assert.Throws<JobSpecException>(() => spec.Workers.RankBounds(1, 1, 2, "r.yaml"));
        Assert.Contains("most ranks a generation holds", Assert.Single(ex.Errors, e => e.Path == "workers.minRanks").Message);
        ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse("name: r\nworkers: { minRanks: 3, maxRanks: 2 }\n"));
        Assert.Single(ex.Errors, e => e.Path == "workers.maxRanks");
    }

    [Fact]
    public void Validation_reports_all_errors_with_paths_and_lines()
    {
        var yaml = """
            name: bad name!
            workers: { min: 3, max: 2 }
            training:
              model: { type: transformer }
              epochs: 0
              optimizer:
                type: sgd
                lr: -1
              precision: fp8
              finetune: { from: x, freeze: ["(unclosed"] }
            checkpoint: { keepLast: 0 }
            """;
        var ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse(yaml));
        var byPath = ex.Errors.ToDictionary(e => e.Path);
        Assert.Equal(1, byPath["name"].Line);
        Assert.Equal(2, byPath["workers.max"].Line);
        Assert.Contains("transformer", byPath["training.model.type"].Message);
        Assert.Equal(4, byPath["training.model.type"].Line);
        Assert.Equal(5, byPath["training.epochs"].Line);
        Assert.Equal(8, byPath["training.optimizer.lr"].Line);
        Assert.Equal(9, byPath["training.precision"].Line);
        Assert.Equal(10, byPath["training.finetune.freeze[0]"].Line);
        Assert.Equal(11, byPath["checkpoint.keepLast"].Line);
        Assert.Equal(8, ex.Errors.Count);
    }

    [Fact]
    public void Custom_model_needs_assembly_and_type()
    {
        var ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse("name: x\ntraining:\n  model: { type: custom }\n"));
        Assert.Contains(ex.Errors, e => e.Path == "training.model.assembly");
        Assert.Contains(ex.Errors, e => e.Path == "training.model.typeName");
    }

    [Fact]
    public void Defaults_are_valid()
    {
        var spec = JobSpecLoader.Parse("name: minimal\n");
        Assert.Empty(spec.Validate());
        Assert.Equal("fp32", spec.Training.Precision);
    }

    [Fact]
    public void Examples_in_repository_are_valid()
    {
        var dir = RepoPaths.Examples;
        var files = Directory.GetFiles(dir, "*.yaml", SearchOption.AllDirectories);
        Assert.Contains(files, f => Path.GetFileName(Path.GetDirectoryName(f)) == "bench"); // the PyTorch comparison jobs too
        foreach (var file in files) Assert.NotNull(JobSpecLoader.LoadFile(file));
    }
}
