using Cluster.Abstractions;

namespace Cluster.Training.Engine;

/// <summary>Tracks the best value of a metric; <see cref="ShouldStop"/> after <c>patience</c> epochs without an
/// improvement larger than <c>minDelta</c>. Deterministic, so every rank (same all-reduced metrics) decides the same.</summary>
public sealed class EarlyStopping(EarlyStoppingSpec spec)
{
    private readonly bool higherIsBetter = spec.Metric == "test_accuracy";

    public double Best { get; private set; } = double.NaN;
    public int EpochsWithoutImprovement { get; private set; }
    public bool ShouldStop => EpochsWithoutImprovement >= spec.Patience;

    /// <returns>true when <paramref name="value"/> is a new best.</returns>
    public bool Observe(double value)
    {
        var improved = double.IsNaN(Best) || (higherIsBetter ? value > Best + spec.MinDelta : value < Best - spec.MinDelta);
        if (improved)
        {
            Best = value;
            EpochsWithoutImprovement = 0;
        }
        else
        {
            EpochsWithoutImprovement++;
        }
        return improved;
    }

    public double Pick(EvaluationResult result) => higherIsBetter ? result.Accuracy : result.Loss;

    internal void Restore(double best, int epochsWithoutImprovement)
    {
        Best = best;
        EpochsWithoutImprovement = epochsWithoutImprovement;
    }
}
