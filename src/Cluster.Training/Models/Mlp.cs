using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Models;

/// <summary>Multi-layer perceptron: flatten → Linear(in, hidden) → ReLU → Dropout → Linear(hidden, classes) ("head").
/// For Fashion-MNIST 784-512-10: 407,050 parameters.</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Flatten flatten = nn.Flatten();
    private readonly Linear fc1;
    private readonly Dropout dropout;
    private readonly Linear head;

    public Mlp(long inputFeatures, int classes, int hidden = 512, double dropout = 0.2) : base(nameof(Mlp))
    {
        fc1 = nn.Linear(inputFeatures, hidden);
        this.dropout = nn.Dropout(dropout);
        head = nn.Linear(hidden, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var flat = flatten.forward(input);
        using var hidden = fc1.forward(flat);
        using var act = nn.functional.relu(hidden);
        using var dropped = dropout.forward(act);
        return head.forward(dropped);
    }
}
