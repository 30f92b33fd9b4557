namespace Cluster.Cli.Commands.Bench;

/// <summary>Validated settings of `cluster bench step`. <see cref="Data"/> is a Fashion-MNIST directory, "synthetic", or
/// null for the default Fashion-MNIST directory.</summary>
internal sealed record BenchStepSettings(
    string Model,
    int KernelSize,
    double Dropout,
    string Optimizer,
    double Lr,
    int Batch,
    int Threads,
    int InteropThreads,
    string Precision,
    int Steps,
    int Warmup,
    string? Data,
    bool ChannelsLast,
    bool TrainerExtras,
    bool DisposeScope,
    string? OmpWait)
{
    public static readonly IReadOnlyList<string> Models = ["cnn", "resnet20", "mlp"];
    public static readonly IReadOnlyList<string> Optimizers = ["adam", "sgd"];
    public static readonly IReadOnlyList<string> Precisions = ["fp32", "bf16"];

    public bool Synthetic => Data == "synthetic";
    public bool Bf16 => Precision == "bf16";

    /// <summary>Throws <see cref="UsageException"/> naming the first bad option.</summary>
    public BenchStepSettings Validate()
    {
        OneOf("--model", Model, Models);
        OneOf("--optimizer", Optimizer, Optimizers);
        OneOf("--precision", Precision, Precisions);
        if (KernelSize is < 1 or > 7 || KernelSize % 2 == 0) throw new UsageException($"--kernel-size must be odd and in [1, 7] (got {KernelSize})");
        if (!(Dropout >= 0 && Dropout < 1)) throw new UsageException($"--dropout must be in [0, 1) (got {Dropout})");
        if (!(Lr > 0 && double.IsFinite(Lr))) throw new UsageException($"--lr must be positive (got {Lr})");
        if (Batch is < 1 or > 65536) throw new UsageException($"--batch must be in [1, 65536] (got {Batch})");
        if (Threads is < 1 or > 1024) throw new UsageException($"--threads must be in [1, 1024] (got {Threads})");
        if (InteropThreads is < 0 or > 1024) throw new UsageException($"--interop-threads must be in [0, 1024] (got {InteropThreads})");
        if (Steps is < 1 or > 1_000_000) throw new UsageException($"--steps must be in [1, 1000000] (got {Steps})");
        if (Warmup is < 0 or > 1_000_000) throw new UsageException($"--warmup must be in [0, 1000000] (got {Warmup})");
        if (OmpWait is not (null or "passive" or "active")) throw new UsageException($"--omp-wait '{OmpWait}' is not one of passive, active");
        if (ChannelsLast && Model == "mlp") throw new UsageException("--channels-last needs a convolutional --model (cnn or resnet20)");
        if (Data is not null && !Synthetic && !Directory.Exists(Data)) throw new UsageException($"--data: directory '{Data}' does not exist");
        return this;
    }

    private static void OneOf(string option, string value, IReadOnlyList<string> allowed)
    {
        if (!allowed.Contains(value)) throw new UsageException($"{option} '{value}' is not one of {string.Join(", ", allowed)}");
    }
}
