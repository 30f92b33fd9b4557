namespace Cluster.Cli.Commands.Bench;

/// <summary>Per-step timings in milliseconds (preallocated, one slot per timed step).</summary>
internal sealed class BenchStepTimings(int steps)
{
    public double[] Step { get; } = new double[steps];
    /// <summary>CPU time of the stepping thread (all of the step's compute when torch runs one thread).</summary>
    public double[] StepThreadCpu { get; } = new double[steps];
    /// <summary>CPU time of the whole process during the step (all torch threads, spinning included).</summary>
    public double[] StepProcessCpu { get; } = new double[steps];
    public double[] ZeroGrad { get; } = new double[steps];
    public double[] Forward { get; } = new double[steps];
    public double[] Backward { get; } = new double[steps];
    public double[] Optimizer { get; } = new double[steps];
    /// <summary>NaN-filled until the first convolution has been timed (models without one keep NaN).</summary>
    public double[] Conv1Forward { get; } = Enumerable.Repeat(double.NaN, steps).ToArray();
    public double AllocatedBytesPerStep { get; set; }
    /// <summary>With --dispose-scope: tensors created in the first timed step that nobody disposed (TorchSharp's
    /// <c>.grad</c> wrappers in zero_grad/step, for instance); the scope disposes them. -1 without the scope.</summary>
    public long UndisposedPerStep { get; set; } = -1;
}
