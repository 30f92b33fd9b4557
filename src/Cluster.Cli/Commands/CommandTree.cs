using System.CommandLine;

namespace Cluster.Cli.Commands;

/// <summary>Every top-level command of `cluster`, one line each.</summary>
internal static class CommandTree
{
    public static IEnumerable<Command> Create()
    {
        yield return new Bench.BenchCommand();
        yield return new RunCommand();
        yield return new WorkerCommand();
        yield return new AgentCommand();
        yield return new SubmitCommand();
        yield return new StatusCommand();
        yield return new CancelCommand();
        yield return new ScaleCommand();
        yield return new LogsCommand();
        yield return new AuditCommand();
    }
}
