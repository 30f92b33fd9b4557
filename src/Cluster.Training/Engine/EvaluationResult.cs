namespace Cluster.Training.Engine;

/// <summary>Evaluation over the whole test set (all ranks together). <see cref="Confusion"/>[actual, predicted].</summary>
public sealed record EvaluationResult(
    double Loss,
    double Accuracy,
    long Samples,
    double[] Precision,
    double[] Recall,
    double[] F1,
    long[,] Confusion)
{
    public double MacroF1 => F1.Length == 0 ? 0 : F1.Average();

    public static EvaluationResult FromConfusion(long[] confusion, int classes, double lossSum, long samples)
    {
        var matrix = new long[classes, classes];
        long correct = 0;
        var precision = new double[classes];
        var recall = new double[classes];
        var f1 = new double[classes];
        for (var a = 0; a < classes; a++)
        {
            for (var p = 0; p < classes; p++) matrix[a, p] = confusion[a * classes + p];
            correct += matrix[a, a];
        }
        for (var c = 0; c < classes; c++)
        {
            long predicted = 0, actual = 0;
            for (var k = 0; k < classes; k++)
            {
                predicted += matrix[k, c];
                actual += matrix[c, k];
            }
            precision[c] = predicted == 0 ? 0 : (double)matrix[c, c] / predicted;
            recall[c] = actual == 0 ? 0 : (double)matrix[c, c] / actual;
            f1[c] = precision[c] + recall[c] == 0 ? 0 : 2 * precision[c] * recall[c] / (precision[c] + recall[c]);
        }
        return new EvaluationResult(samples == 0 ? double.NaN : lossSum / samples, samples == 0 ? 0 : (double)correct / samples,
            samples, precision, recall, f1, matrix);
    }
}
