using System.CommandLine;
using Cluster.Cli.Commands;

var root = new RootCommand("cluster: distributed training runtime for .NET (TorchSharp)");
foreach (var command in CommandTree.Create())
{
    root.Subcommands.Add(command);
}
return await root.Parse(args).InvokeAsync();
