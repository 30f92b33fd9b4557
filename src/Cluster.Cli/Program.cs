using System.CommandLine;
using Cluster.Cli.Commands;

var root = new RootCommand("cluster: distributed training runtime for .NET (TorchSharp)");
foreach (var command in CommandTree.Create())
{
    root.Subcommands.Add(command);
}
// Ctrl-C / SIGTERM cancel the command's token; a command then has this long to stop cleanly (an agent drains its node,
// bounded by its host's 30 s shutdown) before the process is ended (System.CommandLine's default is 2 s).
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(40) });
