using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cluster.Collectives;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Hidden: one rank of `bench allreduce`. Protocol with the driver, over stdio:
/// prints "@bench port P", reads "peers host:port,host:port,...", then prints one "@bench result {json}" per size.
/// The job secret comes in CLUSTER_SECRET (hex), never on the command line.</summary>
internal sealed class BenchWorkerCommand : BaseCommand
{
    private readonly BenchOptions _options = new();
    private readonly Option<int> _rank = new("--rank") { Required = true };

    public BenchWorkerCommand() : base("allreduce-worker", "one rank of the all-reduce benchmark (started by `bench allreduce`)")
    {
        Hidden = true;
        _options.AddTo(this);
        Options.Add(_rank);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var settings = _options.Read(parseResult);
        var rank = parseResult.GetValue(_rank);
        var secret = Convert.FromHexString(Environment.GetEnvironmentVariable("CLUSTER_SECRET")
            ?? throw new UsageException("CLUSTER_SECRET is not set"));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.Timeout);

        using var listener = CommunicatorListener.Bind("127.0.0.1", 0);
        Console.Out.WriteLine($"@bench port {listener.Port.ToString(CultureInfo.InvariantCulture)}");
        Console.Out.Flush();
        var line = await Console.In.ReadLineAsync(deadline.Token).ConfigureAwait(false)
            ?? throw new UsageException("driver closed stdin before sending the peer list");
        var endpoints = line.StartsWith("peers ", StringComparison.Ordinal) ? line[6..].Split(',') : throw new UsageException($"unexpected driver line '{line}'");
        if (endpoints.Length != settings.Ranks) throw new UsageException($"driver sent {endpoints.Length} peers for {settings.Ranks} ranks");
        var peers = endpoints.Select((e, r) =>
        {
            var colon = e.LastIndexOf(':');
            return new PeerInfo(r, e[..colon], int.Parse(e[(colon + 1)..], CultureInfo.InvariantCulture), settings.HostIdOf(r));
        }).ToArray();

        var options = new CommunicatorOptions
        {
            JobId = "bench", Generation = 1, Rank = rank, Peers = peers, Secret = secret,
            Transport = settings.TransportKind, CompressFloat32AsBFloat16 = settings.Compress,
            OperationTimeout = TimeSpan.FromSeconds(60), ConnectTimeout = TimeSpan.FromSeconds(60),
        };
        options = BenchTuning.Apply(options);
        await using var communicator = await Communicator.CreateAsync(options, listener, deadline.Token).ConfigureAwait(false);
        return settings.DType switch
        {
            BenchDType.Float32 => await RunAsync<float>(communicator, settings, deadline.Token).ConfigureAwait(false),
            BenchDType.Float64 => await RunAsync<double>(communicator, settings, deadline.Token).ConfigureAwait(false),
            BenchDType.Float16 => await RunAsync<Half>(communicator, settings, deadline.Token).ConfigureAwait(false),
            BenchDType.BFloat16 => await RunAsync<BFloat16>(communicator, settings, deadline.Token).ConfigureAwait(false),
            BenchDType.Int32 => await RunAsync<int>(communicator, settings, deadline.Token).ConfigureAwait(false),
            _ => await RunAsync<long>(communicator, settings, deadline.Token).ConfigureAwait(false),
        };
    }

    private static async Task<int> RunAsync<T>(ICommunicator communicator, BenchSettings settings, CancellationToken cancellationToken) where T : unmanaged
    {
        var exit = ExitCodes.Success;
        foreach (var bytes in settings.Sizes)
        {
            var count = checked((int)(bytes / BenchDTypes.Size(settings.DType)));
            var original = new T[count];
            var data = GC.AllocateUninitializedArray<T>(count, pinned: true);
            BenchPayload.Fill<T>(original, communicator.Rank);
            var expected = BenchPayload.ExactExpected<T>(count, communicator.WorldSize, settings.Op);
            var iterations = settings.IterationsFor(bytes);
            var times = new double[iterations];
            long errors = 0;
            for (var k = -2; k < iterations; k++) // two warm-up rounds, checked but not timed
            {
                original.AsSpan().CopyTo(data);
                var start = Stopwatch.GetTimestamp();
                await communicator.AllReduceAsync<T>(data, settings.Op, cancellationToken).ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (k >= 0) times[k] = elapsed;
                // bf16 on the wire keeps these small integers exact, so one reference serves both modes.
                errors += expected is null
                    ? BenchPayload.CountErrors<T>(data, communicator.WorldSize, settings.Op)
                    : BenchPayload.CountErrors<T>(data, expected);
            }
            Array.Sort(times);
            var result = new BenchRankResult(communicator.Rank, bytes, iterations, times[iterations / 2], times[0], errors);
            Console.Out.WriteLine("@bench result " + JsonSerializer.Serialize(result, BenchJson.Default.BenchRankResult));
            Console.Out.Flush();
            if (errors > 0) exit = ExitCodes.WrongResult;
        }
        return exit;
    }
}
