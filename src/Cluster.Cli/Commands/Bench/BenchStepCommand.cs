using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Cluster.Training.Engine;
using TorchSharp;

namespace Cluster.Cli.Commands.Bench;

/// <summary>`cluster bench step`: per-step training compute of one model in this process (no data loading, no
/// communication): median/mean/min of the whole step and of forward(+loss), backward and the optimizer, the first
/// convolution's forward alone, and the managed bytes allocated per step.</summary>
internal sealed class BenchStepCommand : BaseCommand
{
    private readonly BenchStepOptions _options = new();
    private readonly Option<bool> _json = new("--json") { Description = "a JSON summary as the last stdout line; human text on stderr" };

    public BenchStepCommand() : base("step", "time training steps of one model on preloaded batches (TorchSharp compute only)")
    {
        _options.AddTo(this);
        Options.Add(_json);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var settings = _options.Read(parseResult);
        var json = parseResult.GetValue(_json);
        var human = json ? Console.Error : Console.Out;

        // Before the first torch call: libgomp reads OMP_WAIT_POLICY when libtorch loads.
        if (settings.OmpWait is { } policy) OpenMpWaitPolicy.Apply(policy, overwrite: true);
        var ompWait = OpenMpWaitPolicy.Current?.ToLowerInvariant() ?? "default";
        torch.set_num_threads(settings.Threads);
        if (settings.InteropThreads > 0) torch.set_num_interop_threads(settings.InteropThreads);
        var total = settings.Warmup + settings.Steps;
        await human.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"# bench step: {settings.Model}{(settings.Model == "cnn" ? $" k={settings.KernelSize}" : "")}, {settings.Optimizer} lr {settings.Lr}, batch {settings.Batch}, {settings.Precision}{(settings.ChannelsLast ? ", channels_last" : "")}{(settings.TrainerExtras ? ", trainer extras" : "")}{(settings.DisposeScope ? ", dispose scope" : "")}, threads {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}, OMP wait {ompWait}), {settings.Warmup} warmup + {settings.Steps} timed steps, data {settings.Data ?? "fashion-mnist"}")).ConfigureAwait(false);
        // Ranks get these from their launcher; this process runs with whatever its own environment set at start.
        await human.WriteLineAsync("# glibc malloc: " + global::Cluster.Training.Engine.RankMallocSettings.InEffect()).ConfigureAwait(false);

        using var data = BenchStepData.Load(settings, total, cancellationToken);
        using var runner = new BenchStepRunner(settings, data);
        var t = runner.Run(cancellationToken);

        var rows = new (string Name, double[] Values)[]
        {
            ("step", t.Step), ("step thread CPU", t.StepThreadCpu), ("step process CPU", t.StepProcessCpu), ("zero_grad", t.ZeroGrad), ("forward+loss", t.Forward), ("backward", t.Backward), ("optimizer", t.Optimizer), ("conv1 forward", t.Conv1Forward),
        };
        await human.WriteLineAsync($"{"phase",-16} {"median ms",10} {"mean ms",9} {"min ms",8}").ConfigureAwait(false);
        foreach (var (name, values) in rows)
        {
            var median = BenchStats.Median(values);
            if (double.IsNaN(median)) continue;
            await human.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{name,-16} {median,10:0.000} {BenchStats.Mean(values),9:0.000} {BenchStats.Min(values),8:0.000}")).ConfigureAwait(false);
        }
        await human.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"managed bytes allocated per step: {t.AllocatedBytesPerStep:0}")).ConfigureAwait(false);
        if (t.UndisposedPerStep >= 0)
            await human.WriteLineAsync($"tensors left undisposed per step (disposed by the scope): {t.UndisposedPerStep}").ConfigureAwait(false);

        if (json)
        {
            var conv1 = BenchStats.Median(t.Conv1Forward);
            var summary = new BenchStepSummary("torchsharp", settings.Model, settings.KernelSize, settings.Optimizer, settings.Threads,
                torch.get_num_interop_threads(), settings.Batch, settings.Precision, settings.ChannelsLast, settings.TrainerExtras, ompWait,
                settings.Data ?? "fashion-mnist", settings.Steps,
                R(BenchStats.Median(t.Step)), R(BenchStats.Mean(t.Step)), R(BenchStats.Min(t.Step)),
                R(BenchStats.Median(t.StepThreadCpu)), R(BenchStats.Median(t.StepProcessCpu)),
                R(BenchStats.Median(t.ZeroGrad)), R(BenchStats.Median(t.Forward)), R(BenchStats.Median(t.Backward)),
                R(BenchStats.Median(t.Optimizer)), double.IsNaN(conv1) ? null : R(conv1), Math.Round(t.AllocatedBytesPerStep, 1));
            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(summary, BenchStepJson.Default.BenchStepSummary)).ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }

    private static double R(double ms) => Math.Round(ms, 4);
}
