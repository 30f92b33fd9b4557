using System.CommandLine;

namespace Cluster.Cli.Commands;

/// <summary>A command whose work is <see cref="ExecuteAsync"/>; it returns one of <see cref="ExitCodes"/>.
/// Human text goes to stderr when --json is on, so stdout stays machine-readable.</summary>
internal abstract class BaseCommand : Command
{
    protected BaseCommand(string name, string description) : base(name, description)
    {
        SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                return await ExecuteAsync(parseResult, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"{name}: cancelled").ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"{name}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }
        });
    }

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken);
}
