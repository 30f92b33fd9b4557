using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Models;

/// <summary>LeNet-style CNN: [convk×k(32) → ReLU → maxpool2] → [convk×k(64) → ReLU → maxpool2] (k = 5 by default, padding k/2) → Linear(64·H/4·W/4, 128)
/// → ReLU → Dropout → Linear(128, classes) ("head"). 28×28×1 input: 454,922 parameters (k = 5), 421,642 (k = 3).</summary>
internal sealed class Cnn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly MaxPool2d pool = nn.MaxPool2d(2);
    private readonly Flatten flatten = nn.Flatten();
    private readonly Linear fc1;
    private readonly Dropout dropout;
    private readonly Linear head;

    public Cnn(long channels, long height, long width, int classes, double dropout = 0.2, int kernelSize = 5) : base(nameof(Cnn))
    {
        if (kernelSize is < 1 or > 7 || kernelSize % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "kernel size must be odd and in [1, 7]");
        conv1 = nn.Conv2d(channels, 32, kernelSize, padding: kernelSize / 2);
        conv2 = nn.Conv2d(32, 64, kernelSize, padding: kernelSize / 2);
        fc1 = nn.Linear(64 * (height / 4) * (width / 4), 128);
        this.dropout = nn.Dropout(dropout);
        head = nn.Linear(128, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var c1 = conv1.forward(input);
        using var r1 = nn.functional.relu(c1);
        using var p1 = pool.forward(r1);
        using var c2 = conv2.forward(p1);
        using var r2 = nn.functional.relu(c2);
        using var p2 = pool.forward(r2);
        using var flat = flatten.forward(p2);
        using var f1 = fc1.forward(flat);
        using var r3 = nn.functional.relu(f1);
        using var d = dropout.forward(r3);
        return head.forward(d);
    }
}
