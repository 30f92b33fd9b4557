using Cluster.Training.Data;

namespace Cluster.Training.Engine;

/// <summary>An optimizer step just finished: the step count, the sampler position after it and the step's mean local loss.</summary>
public sealed record TrainerStep(long Step, SamplerCursor Cursor, double Loss);
