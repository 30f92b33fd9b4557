using System.Security.Cryptography;
using Cluster.Abstractions;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;

namespace Cluster.Agent.Client;

/// <summary>
/// Turns a job YAML file into what the coordinator stores: parses and validates it (unknown fields, types,
/// ranges, and that the dataset exists), makes its paths absolute against the submitter's directory and builds the
/// <see cref="JobSpecSummary"/>. Every problem is a <see cref="JobSpecException"/> naming the field and line.
/// </summary>
public static class JobSubmission
{
    /// <summary>Loads, validates and resolves a spec file.</summary>
    public static JobSpec Load(string path)
    {
        var spec = JobSpecLoader.LoadFile(path);
        var yaml = File.ReadAllText(path);
        CheckDataset(spec, yaml, path);
        Resolve(spec, Environment.CurrentDirectory);
        return spec;
    }

    /// <summary>A new job id: the spec name plus 8 random hex digits.</summary>
    public static string NewJobId(JobSpec spec) => $"{spec.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    /// <summary>
    /// The coordinator's view of <paramref name="spec"/> (clustered: a worker is a node agent with nprocPerNode ranks). Its
    /// checkpoint directory is the spec's lineage root, <c>checkpoint.dir/name</c>; <paramref name="fresh"/> ignores the
    /// checkpoints already there.
    /// </summary>
    public static JobSpecSummary Summarize(JobSpec spec, string jobId, int minWorkers, int maxWorkers, int nprocPerNode, bool fresh = false)
    {
        spec.Workers.RankBounds(minWorkers, maxWorkers, nprocPerNode, $"job {jobId}"); // workers.maxRanks fits the nodes
        var dir = string.IsNullOrWhiteSpace(spec.Checkpoint.Dir) ? "" : CheckpointLineage.RootOf(spec.Checkpoint.Dir, spec.Name);
        var summary = new JobSpecSummary(jobId, JobSpecLoader.ToYaml(spec), minWorkers, maxWorkers, nprocPerNode,
            dir.Length == 0 ? 0 : spec.Checkpoint.IntervalSteps, dir, spec.Checkpoint.KeepLast, spec.Restart.MaxRestarts, spec.Training.Seed, fresh);
        summary.Validate();
        return summary;
    }

    private static void CheckDataset(JobSpec spec, string yaml, string source)
    {
        var d = spec.Training.Dataset;
        var errors = new List<JobSpecError>();
        void Missing(string field, string? value, bool directory)
        {
            var exists = !string.IsNullOrWhiteSpace(value) && (directory ? Directory.Exists(value) : File.Exists(value) || Directory.Exists(value));
            if (!exists)
            {
                var path = $"training.dataset.{field}";
                errors.Add(new JobSpecError(path, string.IsNullOrWhiteSpace(value) ? $"is required for dataset type '{d.Type}'" : $"'{value}' does not exist",
                    SpecLines.LineOf(yaml, path) ?? SpecLines.LineOf(yaml, "training.dataset")));
            }
        }
        switch (d.Type)
        {
            case "fashion-mnist":
                Missing("path", string.IsNullOrWhiteSpace(d.Path) ? Cluster.Training.Data.FashionMnistDataset.DefaultDirectory : d.Path, directory: true);
                break;
            case "image-folder":
                Missing("path", d.Path, directory: true);
                Missing("testPath", d.TestPath, directory: true);
                break;
            case "csv":
                Missing("path", d.Path, directory: false);
                Missing("testPath", d.TestPath, directory: false);
                break;
        }
        if (errors.Count > 0) throw new JobSpecException(source, errors);
    }

    private static void Resolve(JobSpec spec, string baseDir)
    {
        string? Abs(string? p) => string.IsNullOrWhiteSpace(p) ? p : Path.GetFullPath(p, baseDir);
        var d = spec.Training.Dataset;
        d.Path = Abs(d.Path);
        d.TestPath = Abs(d.TestPath);
        if (!string.IsNullOrWhiteSpace(spec.Checkpoint.Dir)) spec.Checkpoint.Dir = Abs(spec.Checkpoint.Dir)!;
        if (spec.Training.Finetune is { } ft && !string.IsNullOrWhiteSpace(ft.From)) ft.From = Abs(ft.From)!;
    }
}
