namespace Cluster.Cli.Commands.Bench;

/// <summary>`cluster bench ...`: benchmarks that start real rank processes on this machine.</summary>
internal sealed class BenchCommand : System.CommandLine.Command
{
    public BenchCommand() : base("bench", "benchmarks across real local rank processes")
    {
        Subcommands.Add(new BenchAllReduceCommand());
        Subcommands.Add(new BenchDdpCommand());
        Subcommands.Add(new BenchWorkerCommand());
        Subcommands.Add(new BenchStepCommand());
        Subcommands.Add(new BenchControlPlaneCommand());
        Subcommands.Add(new BenchControlPlaneSiloCommand());
        Subcommands.Add(new BenchMembershipCommand());
    }
}
