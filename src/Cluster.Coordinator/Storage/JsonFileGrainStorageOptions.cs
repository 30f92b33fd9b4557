namespace Cluster.Coordinator.Storage;

/// <summary>Where <see cref="JsonFileGrainStorage"/> keeps its files.</summary>
public sealed record JsonFileGrainStorageOptions(string RootDirectory)
{
    /// <summary>Throws <see cref="ArgumentException"/> when the directory is empty.</summary>
    public JsonFileGrainStorageOptions Validated() =>
        string.IsNullOrWhiteSpace(RootDirectory) ? throw new ArgumentException("RootDirectory is required for file grain storage") : this;
}
