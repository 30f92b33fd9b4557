using Cluster.Training.Distributed;

namespace Cluster.Training.Elastic;

/// <summary>
/// What one state exchange decided: the newest <paramref name="Step"/> among the ranks, its <paramref name="Source"/>
/// (-1 when <paramref name="Diverged"/>), the <paramref name="Receivers"/>, every rank's step and fingerprint,
/// <paramref name="Diverged"/>: the ranks at the newest step when their states differ (nobody is trusted), the parts this
/// rank <paramref name="Received"/> (null when it sent or kept its own), and the time spent exchanging pairs and sending.
/// </summary>
public sealed record StateExchange(
    long Step,
    int Source,
    IReadOnlyList<int> Receivers,
    IReadOnlyList<long> Steps,
    IReadOnlyList<long> Fingerprints,
    IReadOnlyList<int>? Diverged,
    IReadOnlyList<StateImage>? Received,
    TimeSpan Exchanged,
    TimeSpan Sent);
