namespace Cluster.Abstractions;

internal static class SpecChecks
{
    public static void OneOf(string path, string value, IReadOnlyCollection<string> allowed, List<JobSpecError> errors)
    {
        if (!allowed.Contains(value))
            errors.Add(new(path, $"'{value}' is not one of: {string.Join(", ", allowed)}"));
    }

    public static void Positive(string path, double value, List<JobSpecError> errors)
    {
        if (!(value > 0) || double.IsInfinity(value)) errors.Add(new(path, $"must be a finite number > 0 (got {value})"));
    }

    public static void NonNegative(string path, double value, List<JobSpecError> errors)
    {
        if (!(value >= 0) || double.IsInfinity(value)) errors.Add(new(path, $"must be a finite number >= 0 (got {value})"));
    }
}
