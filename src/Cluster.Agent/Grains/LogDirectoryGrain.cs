namespace Cluster.Agent.Grains;

/// <summary>In-memory directory of the nodes' log sources (<see cref="ILogDirectoryGrain"/>); a node id is at most 256 characters.</summary>
internal sealed class LogDirectoryGrain : Grain, ILogDirectoryGrain
{
    private const int MaxNodes = 100_000;
    private readonly Dictionary<string, IRankLogSource> _sources = new(StringComparer.Ordinal);

    public Task Register(string nodeId, IRankLogSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (string.IsNullOrEmpty(nodeId) || nodeId.Length > 256) throw new ArgumentException("a node id is 1..256 characters", nameof(nodeId));
        if (_sources.Count >= MaxNodes && !_sources.ContainsKey(nodeId)) throw new InvalidOperationException($"at most {MaxNodes} nodes register logs");
        _sources[nodeId] = source;
        return Task.CompletedTask;
    }

    public Task<IRankLogSource?> Find(string nodeId) => Task.FromResult(_sources.GetValueOrDefault(nodeId));
}
