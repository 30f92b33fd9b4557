using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using Cluster.Agent.Local;
using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>The rank ↔ agent local channel over a real Unix socket: who may attach, and what a bad frame costs.</summary>
public sealed class LocalChannelTests : IAsyncLifetime
{
    private const string JobId = "job-local";
    private readonly string _secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lc-" + Guid.NewGuid().ToString("N")[..8]);
    private NodeVoice _voice = null!;
    private LocalChannelServer _server = null!;
    private const string Spec = "name: local\ntraining: { epochs: 1 }\n";
    private readonly RecordingReports _reports = new();

    /// <summary>Counts the reports the agent forwards.</summary>
    private sealed class RecordingReports : Cluster.Agent.Grains.IJobReportGrain
    {
        public int Calls;
        public Task ReportPlan(long totalSteps, int epochs) { Interlocked.Increment(ref Calls); return Task.CompletedTask; }
        public Task ReportEpoch(Cluster.Agent.Grains.EpochSummary epoch) { Interlocked.Increment(ref Calls); return Task.CompletedTask; }
        public Task ReportResult(Cluster.Agent.Grains.JobResult result) { Interlocked.Increment(ref Calls); return Task.CompletedTask; }
        public Task<Cluster.Agent.Grains.JobReport> Get() => throw new NotSupportedException();
    }

    public Task InitializeAsync()
    {
        // Two local ranks: the voice waits for both before it calls the grain, so no grain is needed to test the channel.
        _voice = new NodeVoice(null!, JobId, _secret, 2, new NodeVoiceOptions { NodeId = "n0", HostId = "h", AdvertiseHost = "127.0.0.1" }, NullLogger.Instance);
        _server = new LocalChannelServer(Path.Combine(_dir, "j.sock"), _voice, JobId, "n0", _secret, 2, NullLogger.Instance, Spec, _reports);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    [Fact]
    public async Task A_rank_with_the_secret_attaches_and_one_without_it_is_refused()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_server.Path));
        await using var good = await AgentLink.ConnectAsync(_server.Path, JobId, "n0", 0, _secret, 29500, TimeSpan.FromSeconds(10), CancellationToken.None);
        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => AgentLink.ConnectAsync(_server.Path, JobId, "n0", 1,
            Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), 29501, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Contains("does not match the job secret", wrong.Message);
        var otherJob = await Assert.ThrowsAsync<InvalidOperationException>(() => AgentLink.ConnectAsync(_server.Path, "job-other", "n0", 1, _secret, 29501,
            TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Contains("does not match", otherJob.Message);
        // The attached rank is known to the voice: posting for it works, posting for the refused one does not.
        _voice.Post(0, new ProgressReport(1, 0, 0, 1, 1));
        Assert.Throws<InvalidOperationException>(() => _voice.Post(1, new ProgressReport(1, 0, 0, 1, 1)));
    }

    [Fact]
    public async Task A_frame_claiming_two_gigabytes_is_dropped_without_allocating_it()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_server.Path));
        await using var stream = new NetworkStream(socket);
        Assert.IsType<LocalMessage.Challenge>(await LocalFrames.ReadAsync(stream, CancellationToken.None));
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, int.MaxValue);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await stream.WriteAsync(header);
        using var read = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await stream.ReadAsync(new byte[16], read.Token)); // the agent closed the connection
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L * 1024 * 1024, "the agent allocated the claimed frame");
        await Assert.ThrowsAsync<InvalidDataException>(() => LocalFrames.ReadAsync(new MemoryStream(header), CancellationToken.None));
    }

    [Fact]
    public async Task The_welcome_carries_the_spec_and_a_report_from_a_rank_without_rank_0_is_not_forwarded()
    {
        await using var link = await AgentLink.ConnectAsync(_server.Path, JobId, "n0", 0, _secret, 29500, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(Spec, link.SpecYaml);
        // No generation is assigned yet (the voice waits for both ranks): nobody holds rank 0, nothing reaches the report.
        var plan = await link.ReportPlanAsync(1, 100, 1, CancellationToken.None);
        Assert.Equal(ControlDirective.Continue, plan.Directive);
        Assert.Contains("does not hold rank 0 of generation 1", plan.Reason);
        var result = await link.ReportResultAsync(1, new Cluster.Agent.Grains.JobResult("completed", 1, 100, 0, 0.1, 0.9, 0.2, 0.9, 10, 1, 2),
            CancellationToken.None);
        Assert.Contains("does not hold rank 0", result.Reason);
        Assert.Equal(0, _reports.Calls);
    }
}
