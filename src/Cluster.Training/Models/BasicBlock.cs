using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Models;

/// <summary>ResNet basic block: conv3×3 → BN → ReLU → conv3×3 → BN, plus a shortcut (identity, or conv1×1 + BN when
/// the shape changes), then ReLU.</summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential shortcut;

    public BasicBlock(string name, long inPlanes, long planes, long stride) : base(name)
    {
        conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(planes);
        shortcut = stride != 1 || inPlanes != planes
            ? nn.Sequential(("conv", nn.Conv2d(inPlanes, planes, 1, stride: stride, bias: false)), ("bn", nn.BatchNorm2d(planes)))
            : nn.Sequential();
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var c1 = conv1.forward(input);
        using var b1 = bn1.forward(c1);
        using var r1 = nn.functional.relu(b1);
        using var c2 = conv2.forward(r1);
        using var b2 = bn2.forward(c2);
        using var s = shortcut.forward(input);
        using var sum = b2.add(s);
        return nn.functional.relu(sum);
    }
}
