using Xunit;

namespace Cluster.Training.Tests;

/// <summary>Tests that seed the process-wide torch RNG run alone, so no concurrently running test draws from it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    public const string Name = "serial-torch";
}
