using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>Tests that run many training processes at once share this collection, so they do not run in parallel with each other.</summary>
[CollectionDefinition(Name)]
public sealed class AgentProcessesCollection
{
    public const string Name = "agent-processes";
}
