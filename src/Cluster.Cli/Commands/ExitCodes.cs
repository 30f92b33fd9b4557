namespace Cluster.Cli.Commands;

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int InvalidInput = 2;
    /// <summary>A benchmark or job ran, but a result did not match its reference.</summary>
    public const int WrongResult = 3;
    public const int Cancelled = 130;
}
