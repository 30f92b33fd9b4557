using System.Reflection;
using Cluster.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Models;

/// <summary>Builds the network named in a <see cref="ModelSpec"/> for inputs of <c>inputShape</c> (per sample, e.g. [1, 28, 28]).</summary>
public static class ModelFactory
{
    public static nn.Module<Tensor, Tensor> Create(ModelSpec spec, IReadOnlyList<long> inputShape, int classes)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "need at least 2 classes");
        var (c, h, w) = inputShape.Count switch
        {
            3 => (inputShape[0], inputShape[1], inputShape[2]),
            2 => (1L, inputShape[0], inputShape[1]),
            _ => (0L, 0L, 0L),
        };
        var features = inputShape.Aggregate(1L, (a, d) => a * d);
        return spec.Type switch
        {
            "mlp" => new Mlp(features, classes, dropout: spec.Dropout),
            "cnn" => RequireImage(spec.Type, c) ?? new Cnn(c, h, w, classes, spec.Dropout, spec.KernelSize),
            "resnet20" => RequireImage(spec.Type, c) ?? ResNet.ResNet20(c, classes),
            "resnet18" => RequireImage(spec.Type, c) ?? ResNet.ResNet18(c, classes),
            "custom" => CreateCustom(spec, new ModelContext(inputShape, classes, spec.Dropout)),
            _ => throw new ArgumentException($"unknown model type '{spec.Type}'", nameof(spec)),
        };
    }

    private static nn.Module<Tensor, Tensor>? RequireImage(string type, long channels) =>
        channels > 0 ? null : throw new ArgumentException($"model '{type}' needs image input of shape [C, H, W] or [H, W]");

    private static nn.Module<Tensor, Tensor> CreateCustom(ModelSpec spec, ModelContext context)
    {
        var path = Path.GetFullPath(spec.Assembly ?? throw new ArgumentException("custom model needs 'assembly'"));
        if (!File.Exists(path)) throw new FileNotFoundException($"custom model assembly not found: {path}", path);
        var assembly = Assembly.LoadFrom(path);
        var type = assembly.GetType(spec.TypeName ?? "", throwOnError: false)
            ?? throw new TypeLoadException($"type '{spec.TypeName}' not found in {path}");
        if (!typeof(IModelFactory).IsAssignableFrom(type))
            throw new TypeLoadException($"type '{type.FullName}' does not implement {typeof(IModelFactory).FullName}");
        var factory = (IModelFactory)(Activator.CreateInstance(type)
            ?? throw new TypeLoadException($"cannot create '{type.FullName}'"));
        return factory.Create(context);
    }
}
