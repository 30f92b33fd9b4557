namespace Cluster.Training.Engine;

/// <summary>Outcome of <see cref="Trainer.RunAsync"/>. <see cref="SamplesPerSecond"/> counts samples of all ranks;
/// <see cref="Timings"/> are this rank's.</summary>
public sealed record TrainingResult(
    string Status,
    int Epochs,
    long Steps,
    int SkippedSteps,
    bool StoppedEarly,
    double TrainLoss,
    EvaluationResult? Test,
    double SamplesPerSecond,
    double WallSeconds,
    StepTimings Timings);
