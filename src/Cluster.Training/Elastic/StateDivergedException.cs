namespace Cluster.Training.Elastic;

/// <summary>Ranks at the newest step hold different states: no survivor is trusted (restore from a committed checkpoint).</summary>
public sealed class StateDivergedException(long step, IReadOnlyList<int> ranks)
    : Exception($"ranks {string.Join(", ", ranks)} at step {step} hold different states")
{
    public long Step { get; } = step;
    public IReadOnlyList<int> Ranks { get; } = ranks;
}
