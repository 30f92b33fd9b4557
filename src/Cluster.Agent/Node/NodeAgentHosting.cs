using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Agent.Node;

/// <summary>Registers the node agent and the agent grains in a silo.</summary>
public static class NodeAgentHosting
{
    /// <summary>Adds <see cref="NodeAgent"/> as a hosted service of the silo's host.</summary>
    public static ISiloBuilder AddNodeAgent(this ISiloBuilder silo, NodeAgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddSingleton(options.Validated());
        silo.Services.AddSingleton<NodeAgent>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<NodeAgent>());
        return silo;
    }
}
