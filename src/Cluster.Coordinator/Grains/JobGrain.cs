using System.Security.Cryptography;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Logging;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// Thin host of one job's decisions: validates callers (join proof, generation fence), feeds events to the
/// pure deciders, carries out their actions (checkpoint files, waking long-polls) and persists the state
/// when it changed. Node calls never block except <see cref="WaitForNodeAssignment"/>, which is bounded.
/// </summary>
public sealed partial class JobGrain(
    [PersistentState("job", JobGrain.StorageName)] IPersistentState<JobGrainState> store,
    CoordinatorOptions options,
    CoordinatorClock clock,
    ILogger<JobGrain> logger,
    IClusterMembershipService? membership = null) : Grain, IJobGrain
{
    /// <summary>Name of the grain storage the job grain persists to.</summary>
    public const string StorageName = "cluster-jobs";

    private readonly CoordinatorOptions _options = options.Validated();
    private readonly ILogger _logger = logger;
    private readonly Dictionary<int, ProgressReport> _progress = [];
    private RendezvousDecider? _rendezvous;
    private LivenessDecider? _liveness;
    private CheckpointDecider? _checkpoints;
    private RecoveryDecider? _recovery;
    private LivenessState _leases = LivenessState.Empty;
    private readonly LeaseRenewals _renewals = new();
    private EpochPlan? _plan;
    private PeerIndex? _peers;
    private RendezvousState _rv = RendezvousState.Empty;
    private TaskCompletionSource _changed = NewSignal();
    private IGrainTimer? _timer;
    private Dictionary<string, long> _heldFences = [];
    private bool _dirty;
    private DateTimeOffset? _lastTick;

    private JobGrainState S => store.State;
    private string JobId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Exists)
        {
            BuildDeciders(S.Spec!);
            if (S.Rendezvous is { } legacy) // written by an older build: keep only what this build persists
            {
                S.Generation = GenerationRecord.Of(legacy);
                S.Rendezvous = null;
                _dirty = true;
            }
            _rv = (S.Generation?.ToState() ?? RendezvousState.Empty) with { TargetWorkers = S.TargetWorkers };
            if (S.Checkpoints.Pending is { } open) // its acks were in memory only
            {
                var before = S.Checkpoints;
                S.Checkpoints = before with { Pending = null };
                await ApplyCheckpointOutcomeAsync(before, [new DiscardCheckpoint(open.CheckpointId, open.Directory, $"checkpoint {open.CheckpointId} was open when the coordinator restarted")]);
                await SaveIfChangedAsync();
            }
            if (S.State is JobState.Running or JobState.Checkpointing or JobState.Recovering)
            {
                // Leases are not persisted: every rank of the generation gets a fresh lease after reactivation.
                _leases = _liveness!.Decide(LivenessState.Empty, new LivenessEvent.Start(_rv.Ranks.Count), clock.UtcNow).State;
                _endpointsDue = clock.UtcNow + _options.LeaseDuration;
                _plan = EpochPlanDecider.ResumePoint(S.Spec!.Seed, S.Checkpoints.Latest);
            }
            if (!S.State.IsTerminal()) StartTimer();
            await SaveIfChangedAsync();
        }
    }

    /// <inheritdoc />
    public async Task<SubmitResult> Submit(JobSpecSummary spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (spec.JobId != JobId) throw new ArgumentException($"spec job id '{spec.JobId}' does not match grain key '{JobId}'", nameof(spec));
        if (S.Exists)
        {
            return S.Spec == spec
                ? new SubmitResult(JobId, false, S.SecretBase64!, S.RestoreNote, S.State == JobState.Completed)
                : throw new InvalidOperationException($"job '{JobId}' was already submitted with a different spec");
        }
        var parsed = BuildDeciders(spec);
        var (checkpoints, note, complete) = await FindLineageAsync(spec, parsed); // throws on a spec that does not match its checkpoints
        S.Spec = spec;
        S.SecretBase64 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        S.State = JobState.Pending;
        S.Checkpoints = checkpoints;
        S.RestoreNote = note;
        if (complete && Transition(LifecycleEvent.LineageComplete)) Ended();
        _dirty = true;
        await SaveIfChangedAsync();
        if (!complete) StartTimer();
        LogSubmitted(JobId, spec.MinWorkers, spec.MaxWorkers, spec.NprocPerNode);
        if (note is not null) LogRestore(JobId, note);
        return new SubmitResult(JobId, true, S.SecretBase64, note, complete);
    }

    /// <inheritdoc />
    public async Task<ControlReply> ReportExit(ProcessExitReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var (slot, refusal) = Guard(report.MemberId, report.Generation, report.FencingToken);
        if (refusal is not null)
        {
            if (_rv.IsHeld && report.Generation == _rv.Generation && report.ExitCode != 0
                && _heldFences.TryGetValue(report.MemberId, out var fence) && fence == report.FencingToken)
            {
                await OnWaitingExitAsync(report);
                await SaveIfChangedAsync();
                if (S.State.IsTerminal()) return new ControlReply(ControlDirective.Abort, S.FailureReason, null);
            }
            return RegroupFor(MemberIds.NodeOf(report.MemberId), report.Generation) ?? refusal;
        }
        var decision = _liveness!.Decide(_leases, new LivenessEvent.Exited(slot!.Rank, report.ExitCode, report.Detail), clock.UtcNow);
        _leases = decision.State;
        await ApplyAsync(decision.Actions);
        // A rank that finished after the final checkpoint was committed (every rank voted for it) ends the job, even when a
        // replacement was admitted in the meantime: there is nothing left for it to train.
        if (report.ExitCode == 0 && S.Checkpoints.Latest is { Final: true } && !S.State.IsTerminal() && !decision.Actions.OfType<CompleteJob>().Any())
            await ApplyAsync([new CompleteJob()]);
        await SaveIfChangedAsync();
        if (S.State.IsTerminal() && S.State != JobState.Completed) return new ControlReply(ControlDirective.Abort, S.FailureReason, null);
        return RegroupFor(MemberIds.NodeOf(report.MemberId), report.Generation) ?? ControlReply.Continue;
    }

    /// <inheritdoc />
    public async Task<JobStatus> Cancel(string reason)
    {
        if (!S.Exists) throw new InvalidOperationException($"job '{JobId}' has not been submitted");
        if (!S.State.IsTerminal())
        {
            await AbortOpenCheckpointAsync($"job cancelled: {reason}");
            if (Transition(LifecycleEvent.Cancel))
            {
                S.FailureReason = $"cancelled: {reason}";
                Ended();
            }
        }
        await SaveIfChangedAsync();
        return await GetStatus();
    }

    /// <inheritdoc />
    public Task<JobStatus> GetStatus()
    {
        var ranks = _rv.Ranks
            .Select(r => new RankInfo(r.Rank, r.Member.MemberId, r.Member.NodeId, r.Member.HostId, r.Member.Host, r.Member.Port, r.Member.Pid,
                _progress.TryGetValue(r.Rank, out var p) ? p.Step : 0))
            .ToList();
        var lead = _progress.Count == 0 ? null : _progress.MaxBy(kv => kv.Value.Step).Value;
        var waiting = _rv.IsOpen ? _rv.Members.Count : 0;
        var reason = S.Exists ? S.FailureReason : "not submitted";
        return Task.FromResult(new JobStatus(JobId, S.State, _rv.Generation, ranks, waiting, lead?.Step ?? 0, lead?.Loss,
            lead?.SamplesPerSecond, S.Checkpoints.Latest, S.Checkpoints.Pending?.CheckpointId, reason, S.RestoreNote, S.LastCheckpointError,
            S.Recoveries.Count == 0 ? null : [.. S.Recoveries], _rv.Spares.Count, GrainContext.Address.SiloAddress?.ToString(), S.TargetWorkers));
    }

    /// <inheritdoc />
    public Task<CheckpointManifest?> GetLatestCheckpoint() => Task.FromResult(S.Checkpoints.Latest);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
