namespace Cluster.Abstractions;

/// <summary>The job spec could not be parsed or is invalid; <see cref="Errors"/> lists every problem found.</summary>
public sealed class JobSpecException(string source, IReadOnlyList<JobSpecError> errors, Exception? inner = null)
    : Exception($"invalid job spec {source}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors), inner)
{
    public IReadOnlyList<JobSpecError> Errors { get; } = errors;
}
