using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Models;

/// <summary>ResNet for small images (CIFAR-style, works for 28×28 and 32×32): 3×3 stem conv → BN → ReLU (no max-pool),
/// stages of <see cref="BasicBlock"/>s (first block of every stage after the first has stride 2), global average pool,
/// Linear head ("head"). <see cref="ResNet20"/>: 3 stages × 3 blocks, widths 16/32/64 (272,474 parameters for 10 classes,
/// projection shortcuts). <see cref="ResNet18"/>: 4 stages × 2 blocks, widths 64/128/256/512 (~11.17 M).</summary>
internal sealed class ResNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d stem;
    private readonly BatchNorm2d bn;
    private readonly Sequential layers;
    private readonly AdaptiveAvgPool2d pool = nn.AdaptiveAvgPool2d(1);
    private readonly Flatten flatten = nn.Flatten();
    private readonly Linear head;

    public static ResNet ResNet20(long channels, int classes) => new(nameof(ResNet20), channels, classes, [16, 32, 64], [3, 3, 3]);

    public static ResNet ResNet18(long channels, int classes) => new(nameof(ResNet18), channels, classes, [64, 128, 256, 512], [2, 2, 2, 2]);

    private ResNet(string name, long channels, int classes, long[] widths, int[] blocks) : base(name)
    {
        stem = nn.Conv2d(channels, widths[0], 3, stride: 1, padding: 1, bias: false);
        bn = nn.BatchNorm2d(widths[0]);
        layers = nn.Sequential();
        var inPlanes = widths[0];
        for (var stage = 0; stage < widths.Length; stage++)
        {
            for (var b = 0; b < blocks[stage]; b++)
            {
                var stride = stage > 0 && b == 0 ? 2 : 1;
                var blockName = $"s{stage + 1}b{b + 1}";
                layers.append(blockName, new BasicBlock(blockName, inPlanes, widths[stage], stride));
                inPlanes = widths[stage];
            }
        }
        head = nn.Linear(inPlanes, classes);
        RegisterComponents();
        foreach (var (paramName, p) in named_parameters())
        {
            if (p.dim() == 4) nn.init.kaiming_normal_(p, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        }
    }

    public override Tensor forward(Tensor input)
    {
        using var s = stem.forward(input);
        using var b = bn.forward(s);
        using var r = nn.functional.relu(b);
        using var l = layers.forward(r);
        using var p = pool.forward(l);
        using var f = flatten.forward(p);
        return head.forward(f);
    }
}
