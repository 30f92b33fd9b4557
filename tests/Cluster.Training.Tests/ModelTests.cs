using Cluster.Abstractions;
using Cluster.Training.Models;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

public sealed class ModelTests
{
    private static long Count(nn.Module m) => m.parameters().Sum(p => p.numel());

    [Theory]
    [InlineData("mlp", 407_050)]
    [InlineData("cnn", 454_922)]
    [InlineData("resnet20", 272_186)] // 272,474 with 3 input channels
    public void Parameter_counts_for_fashion_mnist(string type, long expected)
    {
        using var model = ModelFactory.Create(new ModelSpec { Type = type }, [1, 28, 28], 10);
        Assert.Equal(expected, Count(model));
    }

    [Fact]
    public void ResNet18_has_about_11_million_parameters()
    {
        using var model = ModelFactory.Create(new ModelSpec { Type = "resnet18" }, [3, 32, 32], 10);
        Assert.InRange(Count(model), 11_150_000, 11_200_000);
    }

    [Theory]
    [InlineData("mlp", 1, 28)]
    [InlineData("cnn", 1, 28)]
    [InlineData("cnn", 3, 32)]
    [InlineData("resnet20", 1, 28)]
    [InlineData("resnet20", 3, 32)]
    [InlineData("resnet18", 1, 28)]
    public void Forward_gives_batch_by_classes(string type, long channels, long size)
    {
        using var model = ModelFactory.Create(new ModelSpec { Type = type }, [channels, size, size], 7);
        model.eval();
        using var _ = no_grad();
        using var x = randn(3, channels, size, size);
        using var y = model.forward(x);
        Assert.Equal(new long[] { 3, 7 }, y.shape);
    }

    [Fact]
    public void Every_builtin_model_names_its_classifier_head()
    {
        foreach (var type in new[] { "mlp", "cnn", "resnet20" })
        {
            using var model = ModelFactory.Create(new ModelSpec { Type = type }, [1, 28, 28], 10);
            Assert.Contains(model.named_parameters(), p => p.name == "head.weight");
        }
    }

    [Fact]
    public void Custom_model_from_assembly_is_created()
    {
        var spec = new ModelSpec { Type = "custom", Assembly = typeof(TinyModelFactory).Assembly.Location, TypeName = typeof(TinyModelFactory).FullName };
        using var model = ModelFactory.Create(spec, [1, 4, 4], 3);
        Assert.Equal(16 * 3 + 3, Count(model));
    }

    [Fact]
    public void Custom_model_type_that_is_no_factory_fails_clearly()
    {
        var spec = new ModelSpec { Type = "custom", Assembly = typeof(ModelTests).Assembly.Location, TypeName = typeof(ModelTests).FullName };
        var ex = Assert.Throws<TypeLoadException>(() => ModelFactory.Create(spec, [1, 4, 4], 3));
        Assert.Contains("IModelFactory", ex.Message);
    }
}

public sealed class TinyModelFactory : IModelFactory
{
    public nn.Module<Tensor, Tensor> Create(ModelContext context) =>
        nn.Sequential(nn.Flatten(), nn.Linear(context.InputShape.Aggregate(1L, (a, b) => a * b), context.Classes));
}
