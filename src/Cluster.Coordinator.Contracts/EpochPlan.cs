namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Position of the data sampler, owned by the coordinator: a global cursor into the deterministic
/// sequence of (<see cref="Seed"/>, <see cref="Epoch"/>) (see <see cref="Data.EpochSequence"/>).
/// Because the cursor is global, a run can resume with a different world size.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EpochPlan(long Seed, int Epoch, long Cursor);
