using System.CommandLine;

namespace Cluster.Cli.Commands.Bench;

/// <summary>The options of `cluster bench step`.</summary>
internal sealed class BenchStepOptions
{
    public Option<string> Model { get; } = new("--model") { Description = "cnn | resnet20 | mlp", DefaultValueFactory = _ => "cnn" };
    public Option<int> KernelSize { get; } = new("--kernel-size") { Description = "cnn convolution kernel size (odd, 1..7)", DefaultValueFactory = _ => 3 };
    public Option<double> Dropout { get; } = new("--dropout") { Description = "classifier dropout (mlp, cnn)", DefaultValueFactory = _ => 0.0 };
    public Option<string> Optimizer { get; } = new("--optimizer") { Description = "adam | sgd", DefaultValueFactory = _ => "adam" };
    public Option<double?> Lr { get; } = new("--lr") { Description = "learning rate (default 0.001 for adam, 0.01 for sgd)" };
    public Option<int> Batch { get; } = new("--batch") { Description = "batch size", DefaultValueFactory = _ => 64 };
    public Option<int> Threads { get; } = new("--threads") { Description = "torch intra-op threads (torch.set_num_threads)", DefaultValueFactory = _ => 1 };
    public Option<int> InteropThreads { get; } = new("--interop-threads") { Description = "torch inter-op threads (0: libtorch default)", DefaultValueFactory = _ => 0 };
    public Option<string> Precision { get; } = new("--precision") { Description = "fp32 | bf16 (bf16 compute copy, fp32 master weights, as the trainer)", DefaultValueFactory = _ => "fp32" };
    public Option<int> Steps { get; } = new("--steps") { Description = "timed training steps", DefaultValueFactory = _ => 200 };
    public Option<int> Warmup { get; } = new("--warmup") { Description = "untimed steps first", DefaultValueFactory = _ => 20 };
    public Option<string?> Data { get; } = new("--data") { Description = "Fashion-MNIST directory, or 'synthetic' (default: the standard Fashion-MNIST directory)" };
    public Option<bool> ChannelsLast { get; } = new("--channels-last") { Description = "images and model in channels_last memory format" };
    public Option<bool> TrainerExtras { get; } = new("--trainer-extras") { Description = "also do the trainer's per-step extras: dropout seed, loss.item(), clip_grad_norm_ (NaN guard)" };

    public Option<bool> DisposeScope { get; } = new("--dispose-scope") { Description = "run each step in a torch DisposeScope (disposes tensors that TorchSharp leaves to the GC)" };

    public Option<string?> OmpWait { get; } = new("--omp-wait") { Description = "passive | active: OMP_WAIT_POLICY for libtorch's threads (default: the environment's, libgomp's default is active)" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, KernelSize, Dropout, Optimizer, Lr, Batch, Threads, InteropThreads, Precision, Steps, Warmup, Data, ChannelsLast, TrainerExtras, DisposeScope, OmpWait })
            command.Options.Add(option);
    }

    public BenchStepSettings Read(ParseResult parseResult)
    {
        var optimizer = parseResult.GetValue(Optimizer)!;
        var lr = parseResult.GetValue(Lr) ?? (optimizer == "sgd" ? 0.01 : 0.001);
        return new BenchStepSettings(parseResult.GetValue(Model)!, parseResult.GetValue(KernelSize), parseResult.GetValue(Dropout),
            optimizer, lr, parseResult.GetValue(Batch), parseResult.GetValue(Threads), parseResult.GetValue(InteropThreads),
            parseResult.GetValue(Precision)!, parseResult.GetValue(Steps), parseResult.GetValue(Warmup), parseResult.GetValue(Data),
            parseResult.GetValue(ChannelsLast), parseResult.GetValue(TrainerExtras), parseResult.GetValue(DisposeScope), parseResult.GetValue(OmpWait)).Validate();
    }
}
