using Cluster.Agent.Rank;
using Cluster.Training.FaultyRank;

// One coordinated rank, like `cluster worker --coordinated`, with the fault planned for this process (if any) armed.
var settings = RankSettings.FromEnvironment(Environment.GetEnvironmentVariable);
var fault = FaultPlan.Arm(Environment.GetEnvironmentVariable, settings.LocalRank, Console.Out);
fault?.WatchCheckpoints();
if (fault?.Phase == "start") fault.Fire("before it attached to its agent");
return await new CoordinatedRank(settings, Console.Out, communicators: fault is null ? null : c => new FaultyCommunicator(c, fault))
    .RunAsync(CancellationToken.None);
