using System.Diagnostics;
using System.Globalization;
using Cluster.Collectives;
using Cluster.Collectives.TestWorker;

// Test worker: one rank per process. Prints "PORT <p>", reads "PEERS <p0>,<p1>,..." from stdin, connects, runs a mode,
// prints "DONE" (or "FAIL <error>" / "ERROR <type> peer=<r> op=<op> gen=<g> ms=<elapsed>") and, for the failure
// modes, waits for stdin to close before exiting so that its sockets stay open until the test has read every report.
var a = WorkerArgs.Parse(args);
using var listener = CommunicatorListener.Bind("127.0.0.1", 0);
Console.Out.WriteLine($"PORT {listener.Port}");
Console.Out.Flush();
var line = Console.In.ReadLine() ?? throw new InvalidOperationException("stdin closed before PEERS");
var ports = line["PEERS ".Length..].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
try
{
    await using var comm = await Communicator.CreateAsync(a.ToOptions(ports), listener, cts.Token);
    switch (a.Mode)
    {
        case "suite":
            await Scenarios.RunSuiteAsync(comm, a.Seed, a.Quick, cts.Token);
            break;
        case "large":
            await Scenarios.AllReduceAsync<float>(comm, a.Seed, 17 * 1024 * 1024 + 3, ReduceOp.Sum, cts.Token);
            break;
        case "loop":
            return await LoopUntilFailureAsync(comm, cts.Token);
        case "bench":
            await Bench.RunAsync(comm, a.Sizes, cts.Token);
            break;
        default:
            throw new ArgumentException($"unknown mode {a.Mode}");
    }
    Console.Out.WriteLine("DONE");
    return 0;
}
catch (Exception e)
{
    Console.Out.WriteLine($"FAIL {e.GetType().Name}: {e.Message}".ReplaceLineEndings(" "));
    Console.Error.WriteLine(e);
    return 1;
}

static async Task<int> LoopUntilFailureAsync(ICommunicator comm, CancellationToken ct)
{
    var data = new float[256 * 1024];
    var started = Stopwatch.GetTimestamp();
    try
    {
        for (var i = 0; ; i++)
        {
            started = Stopwatch.GetTimestamp();
            await comm.AllReduceAsync<float>(data, ReduceOp.Sum, ct);
            if (i == 0) { Console.Out.WriteLine("READY"); Console.Out.Flush(); }
        }
    }
    catch (CollectiveException e)
    {
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Console.Out.WriteLine($"ERROR {e.GetType().Name} peer={e.PeerRank?.ToString(CultureInfo.InvariantCulture) ?? "none"} op={e.Operation} gen={e.Generation} ms={ms:0}");
        Console.Out.Flush();
        Console.In.ReadToEnd(); // keep the sockets open until the test is done reading
        return 3;
    }
}
