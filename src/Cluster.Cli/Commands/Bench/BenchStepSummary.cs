using System.Text.Json.Serialization;

namespace Cluster.Cli.Commands.Bench;

/// <summary>The JSON line of `bench step --json` (same field names as bench/pytorch's, so the two compare directly).</summary>
internal sealed record BenchStepSummary(
    [property: JsonPropertyName("framework")] string Framework,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("kernel_size")] int KernelSize,
    [property: JsonPropertyName("optimizer")] string Optimizer,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("interop_threads")] int InteropThreads,
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("precision")] string Precision,
    [property: JsonPropertyName("channels_last")] bool ChannelsLast,
    [property: JsonPropertyName("trainer_extras")] bool TrainerExtras,
    [property: JsonPropertyName("omp_wait_policy")] string OmpWaitPolicy,
    [property: JsonPropertyName("data")] string Data,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("step_ms_median")] double StepMsMedian,
    [property: JsonPropertyName("step_ms_mean")] double StepMsMean,
    [property: JsonPropertyName("step_ms_min")] double StepMsMin,
    [property: JsonPropertyName("step_thread_cpu_ms_median")] double StepThreadCpuMsMedian,
    [property: JsonPropertyName("step_process_cpu_ms_median")] double StepProcessCpuMsMedian,
    [property: JsonPropertyName("zero_grad_ms_median")] double ZeroGradMsMedian,
    [property: JsonPropertyName("forward_ms_median")] double ForwardMsMedian,
    [property: JsonPropertyName("backward_ms_median")] double BackwardMsMedian,
    [property: JsonPropertyName("optimizer_ms_median")] double OptimizerMsMedian,
    [property: JsonPropertyName("conv1_forward_ms_median")] double? Conv1ForwardMsMedian,
    [property: JsonPropertyName("managed_bytes_per_step")] double ManagedBytesPerStep);
