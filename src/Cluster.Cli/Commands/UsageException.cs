namespace Cluster.Cli.Commands;

/// <summary>Bad input from the user: printed without a stack trace, exit code <see cref="ExitCodes.InvalidInput"/>.</summary>
internal sealed class UsageException(string message) : Exception(message);
