namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Reply to a submit. <see cref="JobSecretBase64"/> is handed to the node agents, which pass it to the
/// rank processes through the environment; ranks prove knowledge of it with <see cref="JoinProof"/>.
/// </summary>
[GenerateSerializer, Immutable]
/// <see cref="RestoreNote"/> says where training starts (which checkpoint, or that the spec's run is already complete).
public sealed record SubmitResult(string JobId, bool Created, string JobSecretBase64, string? RestoreNote = null, bool AlreadyComplete = false);
