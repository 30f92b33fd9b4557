using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Models;

/// <summary>
/// Builds a user-defined network. Spec: <c>model: { type: custom, assembly: path/to/My.dll, typeName: My.Namespace.MyFactory }</c>.
/// The class needs a public parameterless constructor. Every rank calls <see cref="Create"/> and must build the same
/// architecture (DDP verifies this: same parameter names and shapes on every rank, else the job fails naming the first
/// difference). Name the final classifier layer <c>head</c> if transfer learning with <c>replaceHead</c> should work.
/// Parameters are initialised on each rank and then overwritten by rank 0's values, so initialisation need not be seeded.
/// </summary>
public interface IModelFactory
{
    nn.Module<Tensor, Tensor> Create(ModelContext context);
}

/// <summary>What a model factory needs: per-sample input shape (e.g. [1, 28, 28]), number of classes, dropout.</summary>
public sealed record ModelContext(IReadOnlyList<long> InputShape, int Classes, double Dropout);
