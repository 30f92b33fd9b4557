using Cluster.Abstractions;
using Cluster.Training.Models;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>training.model.kernelSize: validation and the CNN it builds.</summary>
public sealed class CnnKernelSizeTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(-3)]
    public void Bad_kernel_size_is_an_error_naming_the_field(int kernelSize)
    {
        var ex = Assert.Throws<JobSpecException>(() => JobSpecLoader.Parse($"name: x\ntraining:\n  model: {{ type: cnn, kernelSize: {kernelSize} }}\n"));
        var error = Assert.Single(ex.Errors);
        Assert.Equal("training.model.kernelSize", error.Path);
        Assert.Contains(kernelSize.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void Odd_kernel_sizes_up_to_7_are_valid_and_kept(int kernelSize)
    {
        var spec = JobSpecLoader.Parse($"name: x\ntraining:\n  model: {{ type: cnn, kernelSize: {kernelSize} }}\n");
        Assert.Empty(spec.Validate());
        Assert.Equal(kernelSize, spec.Training.Model.KernelSize);
        Assert.Equal(kernelSize, JobSpecLoader.Parse(JobSpecLoader.ToYaml(spec)).Training.Model.KernelSize);
    }

    [Fact]
    public void Default_kernel_size_is_5()
    {
        Assert.Equal(5, JobSpecLoader.Parse("name: x\n").Training.Model.KernelSize);
    }

    [Fact]
    public void Cnn_with_kernel_3_keeps_a_3136_by_128_classifier_on_28x28()
    {
        using var model = ModelFactory.Create(new ModelSpec { Type = "cnn", KernelSize = 3 }, [1, 28, 28], 10);
        var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter.shape);
        Assert.Equal(new long[] { 32, 1, 3, 3 }, p["conv1.weight"]);
        Assert.Equal(new long[] { 64, 32, 3, 3 }, p["conv2.weight"]);
        Assert.Equal(new long[] { 128, 3136 }, p["fc1.weight"]);
        Assert.Equal(new long[] { 10, 128 }, p["head.weight"]);
        // conv1 320 + conv2 18,496 + fc1 401,536 + head 1,290
        Assert.Equal(421_642, model.parameters().Sum(x => x.numel()));
        model.eval();
        using var _ = no_grad();
        using var x = randn(2, 1, 28, 28);
        using var y = model.forward(x);
        Assert.Equal(new long[] { 2, 10 }, y.shape);
    }

    [Fact]
    public void Cnn_rejects_an_even_kernel_size()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelFactory.Create(new ModelSpec { Type = "cnn", KernelSize = 4 }, [1, 28, 28], 10));
    }
}
