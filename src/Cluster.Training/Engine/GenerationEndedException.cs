namespace Cluster.Training.Engine;

/// <summary>
/// The generation's ranks voted to end it at a step boundary (<see cref="TrainerOptions.StepVote"/>): step
/// <paramref name="step"/> was applied by every rank that voted; the trainer keeps its state for the next generation.
/// </summary>
public sealed class GenerationEndedException(long generation, long step)
    : Exception($"generation {generation} ended by vote after step {step}")
{
    public long Generation { get; } = generation;
    public long Step { get; } = step;
}
