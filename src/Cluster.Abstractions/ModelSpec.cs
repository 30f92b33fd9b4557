namespace Cluster.Abstractions;

/// <summary>The network: a built-in architecture, or <c>custom</c> with <see cref="Assembly"/> (path of a .dll) and
/// <see cref="TypeName"/> (full name of a class implementing Cluster.Training.Models.IModelFactory).</summary>
public sealed class ModelSpec
{
    public static readonly IReadOnlyList<string> Types = ["mlp", "cnn", "resnet20", "resnet18", "custom"];

    public string Type { get; set; } = "mlp";
    /// <summary>Dropout probability of the MLP/CNN classifier (ignored by ResNets).</summary>
    public double Dropout { get; set; } = 0.2;
    /// <summary>Convolution kernel size of the CNN (odd, 1..7; padding k/2 keeps H and W). Ignored by the other models.</summary>
    public int KernelSize { get; set; } = 5;
    public string? Assembly { get; set; }
    public string? TypeName { get; set; }

    internal void Validate(string path, List<JobSpecError> errors)
    {
        SpecChecks.OneOf($"{path}.type", Type, Types, errors);
        if (!(Dropout >= 0 && Dropout < 1)) errors.Add(new($"{path}.dropout", $"must be in [0, 1) (got {Dropout})"));
        if (KernelSize is < 1 or > 7 || KernelSize % 2 == 0) errors.Add(new($"{path}.kernelSize", $"must be odd and in [1, 7] (got {KernelSize})"));
        if (Type == "custom")
        {
            if (string.IsNullOrWhiteSpace(Assembly)) errors.Add(new($"{path}.assembly", "is required for a custom model"));
            if (string.IsNullOrWhiteSpace(TypeName)) errors.Add(new($"{path}.typeName", "is required for a custom model"));
        }
        else
        {
            if (Assembly is not null) errors.Add(new($"{path}.assembly", $"only applies to type 'custom' (type is '{Type}')"));
            if (TypeName is not null) errors.Add(new($"{path}.typeName", $"only applies to type 'custom' (type is '{Type}')"));
        }
    }
}
