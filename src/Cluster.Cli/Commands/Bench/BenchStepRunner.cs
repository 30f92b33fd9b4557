using System.Diagnostics;
using Cluster.Abstractions;
using Cluster.Training.Data;
using Cluster.Training.Engine;
using Cluster.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Times training steps (zero_grad, forward, cross-entropy, backward, optimizer step) of one model on preloaded
/// batches, the same way the trainer runs them (fp32, or bf16 compute copy with fp32 master weights), plus the first
/// convolution's forward alone. The timed loop allocates nothing of its own; what it does allocate (TorchSharp's tensor
/// wrappers) is reported per step.</summary>
internal sealed class BenchStepRunner : IDisposable
{
    private readonly BenchStepSettings settings;
    private readonly BenchStepData data;
    private readonly nn.Module<Tensor, Tensor> master;
    private readonly Bf16Compute? bf16;
    private readonly optim.Optimizer optimizer;
    private readonly List<Parameter> parameters;
    private readonly ScalarType computeType;
    private readonly Tensor[] images;

    public BenchStepRunner(BenchStepSettings settings, BenchStepData data)
    {
        this.settings = settings;
        this.data = data;
        var spec = new ModelSpec { Type = settings.Model, Dropout = settings.Dropout, KernelSize = settings.KernelSize };
        long[] shape = [data.Shape.Channels, data.Shape.Height, data.Shape.Width];
        manual_seed(42);
        master = ModelFactory.Create(spec, shape, data.Classes);
        if (settings.ChannelsLast) BenchStepChannelsLast.ConvertWeights(master);
        master.train();
        if (settings.Bf16)
        {
            var copy = ModelFactory.Create(spec, shape, data.Classes);
            if (settings.ChannelsLast) BenchStepChannelsLast.ConvertWeights(copy);
            bf16 = new Bf16Compute(master, copy);
            bf16.Model.train();
        }
        computeType = settings.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        parameters = master.parameters().ToList();
        var optimizerSpec = new OptimizerSpec { Type = settings.Optimizer, Lr = settings.Lr };
        optimizer = OptimizerFactory.Create(optimizerSpec, parameters);
        images = new Tensor[data.Count];
        for (var i = 0; i < data.Count; i++)
            images[i] = settings.ChannelsLast ? BenchStepChannelsLast.Convert(data[i].Images) : data[i].Images.alias();
    }

    private nn.Module<Tensor, Tensor> Model => bf16?.Model ?? master;

    public BenchStepTimings Run(CancellationToken cancellationToken)
    {
        var timings = new BenchStepTimings(settings.Steps);
        for (var i = 0; i < settings.Warmup; i++) Step(i, null, 0);
        cancellationToken.ThrowIfCancellationRequested();
        GC.Collect();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < settings.Steps; i++) Step(settings.Warmup + i, timings, i);
        timings.AllocatedBytesPerStep = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)settings.Steps;
        cancellationToken.ThrowIfCancellationRequested();
        if (FirstConv() is { } conv) TimeFirstConv(conv, timings);
        return timings;
    }

    private void Step(int index, BenchStepTimings? timings, int slot)
    {
        var batch = data[index];
        using var scope = settings.DisposeScope ? NewDisposeScope() : null;
        var cpu0 = BenchStepCpuClock.ThreadMs();
        var proc0 = BenchStepCpuClock.ProcessMs();
        var t0 = Stopwatch.GetTimestamp();
        optimizer.zero_grad();
        bf16?.Model.zero_grad(); // the bf16 copy's gradients too, as the trainer does: backward writes, not accumulates
        if (settings.TrainerExtras) manual_seed(index);
        var t1 = Stopwatch.GetTimestamp();
        using (var x = images[index].to_type(computeType))
        using (var output = Model.forward(x))
        using (var logits = output.to_type(ScalarType.Float32))
        using (var loss = nn.functional.cross_entropy(logits, batch.Labels))
        {
            if (settings.TrainerExtras) _ = loss.item<float>();
            var t2 = Stopwatch.GetTimestamp();
            loss.backward();
            var t3 = Stopwatch.GetTimestamp();
            bf16?.GradientsToMaster();
            if (settings.TrainerExtras) _ = nn.utils.clip_grad_norm_(parameters, 1e30);
            optimizer.step();
            bf16?.WeightsFromMaster();
            var t4 = Stopwatch.GetTimestamp();
            if (timings is null) return;
            timings.StepThreadCpu[slot] = BenchStepCpuClock.ThreadMs() - cpu0;
            timings.StepProcessCpu[slot] = BenchStepCpuClock.ProcessMs() - proc0;
            if (scope is not null && slot == 0) timings.UndisposedPerStep = scope.DisposablesCount;
            timings.ZeroGrad[slot] = Ms(t0, t1);
            timings.Forward[slot] = Ms(t1, t2);
            timings.Backward[slot] = Ms(t2, t3);
            timings.Optimizer[slot] = Ms(t3, t4);
            timings.Step[slot] = Ms(t0, t4);
        }
    }

    /// <summary>The first convolution's forward (with autograd on, as in training) on the same batches.</summary>
    private void TimeFirstConv(Conv2d conv, BenchStepTimings timings)
    {
        var warmup = Math.Min(settings.Warmup, 5);
        for (var i = 0; i < warmup + settings.Steps; i++)
        {
            using var x = images[i].to_type(computeType);
            var t0 = Stopwatch.GetTimestamp();
            using (conv.forward(x)) { }
            var t1 = Stopwatch.GetTimestamp();
            if (i >= warmup) timings.Conv1Forward[i - warmup] = Ms(t0, t1);
        }
    }

    private Conv2d? FirstConv()
    {
        foreach (var (_, module) in Model.named_modules())
            if (module is Conv2d conv) return conv;
        return null;
    }

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    public void Dispose()
    {
        foreach (var t in images) t?.Dispose();
        optimizer.Dispose();
        bf16?.Dispose();
        master.Dispose();
    }
}
