using Cluster.Collectives;
using Cluster.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>Evaluates a model on a test set split across ranks (rank r takes the r-th contiguous share, no padding, so
/// every sample counts exactly once) and all-reduces the confusion matrix and loss sum.</summary>
internal sealed class Evaluator
{
    private readonly IDataset dataset;
    private readonly ICommunicator communicator;
    private readonly int batchSize;
    private readonly float[] images;
    private readonly long[] labels;
    private readonly Tensor mean;
    private readonly Tensor std;

    private readonly int classes;

    public Evaluator(IDataset dataset, int classes, ICommunicator communicator, float[] mean, float[] std, int batchSize = 256)
    {
        this.classes = classes;
        this.dataset = dataset;
        this.communicator = communicator;
        this.batchSize = batchSize;
        images = GC.AllocateUninitializedArray<float>(batchSize * dataset.Shape.Elements, pinned: true);
        labels = GC.AllocateUninitializedArray<long>(batchSize, pinned: true);
        this.mean = tensor(mean).view(1, -1, 1, 1);
        this.std = tensor(std).view(1, -1, 1, 1);
    }

    public async Task<EvaluationResult> EvaluateAsync(nn.Module<Tensor, Tensor> model, ScalarType computeType, CancellationToken cancellationToken)
    {
        var confusion = new long[classes * classes];
        double lossSum = 0;
        long count = 0;
        var (world, rank) = (communicator.WorldSize, communicator.Rank);
        var start = (int)((long)dataset.Count * rank / world);
        var end = (int)((long)dataset.Count * (rank + 1) / world);
        var s = dataset.Shape;
        var elements = s.Elements;
        model.eval();
        using (no_grad())
        {
            for (var first = start; first < end; first += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = Math.Min(batchSize, end - first);
                for (var i = 0; i < n; i++) labels[i] = dataset.Get(first + i, images.AsSpan(i * elements, elements));
                using var raw = frombuffer(images, ScalarType.Float32, (long)n * elements, 0);
                using var shaped = raw.view(n, s.Channels, s.Height, s.Width);
                using var centred = shaped - mean;
                using var x = centred / std;
                using var y = frombuffer(labels, ScalarType.Int64, n, 0);
                using var xc = x.to_type(computeType);
                using var outp = model.forward(xc);
                using var logits = outp.to_type(ScalarType.Float32);
                using var loss = nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum);
                lossSum += loss.item<float>();
                using var pred = logits.argmax(1);
                using var cell = y * classes + pred;
                using var counts = cell.bincount(null, classes * classes);
                var host = counts.data<long>();
                for (var k = 0; k < confusion.Length; k++) confusion[k] += host[k];
                count += n;
            }
        }
        model.train();
        double[] totals = [lossSum, count];
        if (world > 1)
        {
            await communicator.AllReduceAsync<long>(confusion, ReduceOp.Sum, cancellationToken).ConfigureAwait(false);
            await communicator.AllReduceAsync<double>(totals, ReduceOp.Sum, cancellationToken).ConfigureAwait(false);
        }
        return EvaluationResult.FromConfusion(confusion, classes, totals[0], (long)totals[1]);
    }
}
