namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Sent by a rank after finishing <see cref="Step"/>. <see cref="Epoch"/>/<see cref="Cursor"/> is the
/// sampler position after the step. Also renews the lease. At checkpoint boundaries the reply opens a checkpoint.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ProgressReport(
    string MemberId,
    long Generation,
    long FencingToken,
    long Step,
    int Epoch,
    long Cursor,
    double Loss,
    double SamplesPerSecond);
