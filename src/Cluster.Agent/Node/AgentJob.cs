using Cluster.Agent.Local;

namespace Cluster.Agent.Node;

/// <summary>
/// The ranks one agent started for one job (replacements included), the node's voice and local channel for them, and the
/// restarts this node made: at most <paramref name="restartBudget"/> within <paramref name="window"/>, each after a
/// back-off from <paramref name="backoff"/> (<see cref="RestartBackoff"/>).
/// </summary>
internal sealed class AgentJob(string jobId, NodeVoice voice, LocalChannelServer channel, int restartBudget, TimeSpan backoff, TimeSpan window)
{
    private readonly Lock _gate = new();
    private readonly Queue<long> _restartTimes = new(); // Stopwatch timestamps, oldest first
    private readonly Dictionary<int, int> _streaks = [];
    private RankProcess[] _ranks = [];
    private int _restarts;
    private int _restarting;

    public string JobId { get; } = jobId;
    public NodeVoice Voice { get; } = voice;
    public LocalChannelServer Channel { get; } = channel;
    public int RestartBudget { get; } = restartBudget;
    public TimeSpan Backoff { get; } = backoff;
    /// <summary>Every rank process started for the job on this node, oldest first (a snapshot).</summary>
    public IReadOnlyList<RankProcess> Ranks => Volatile.Read(ref _ranks);
    /// <summary>Global rank per member id, once the generation is known (for the rank-N.log links).</summary>
    public Dictionary<string, int> Linked { get; } = [];
    /// <summary>Set when the job reached a terminal state and the ranks were told to go.</summary>
    public bool Ended { get; set; }
    /// <summary>When ranks were told to go (spares released, or the node left the job; Stopwatch timestamp): they exit on their own; one still alive later is killed.</summary>
    public long? ToldToGoAt { get; set; }
    /// <summary>Every rank exited and the job is over (terminal): nothing more to check for it on this node.</summary>
    public bool Settled { get; set; }
    /// <summary>Every rank process has exited and none is about to be restarted.</summary>
    public bool AllExited => Volatile.Read(ref _restarting) == 0 && Ranks.All(r => r.Exited.IsCompleted);
    public int Restarts => Volatile.Read(ref _restarts);

    public void Add(RankProcess rank)
    {
        lock (_gate) _ranks = [.. _ranks, rank];
    }

    /// <summary>
    /// Takes one restart from the budget (false when <see cref="RestartBudget"/> restarts were made within the window);
    /// <see cref="EndRestart"/> follows once the new process started (or the restart was given up).
    /// </summary>
    public bool TryTakeRestart()
    {
        lock (_gate)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            while (_restartTimes.Count > 0 && System.Diagnostics.Stopwatch.GetElapsedTime(_restartTimes.Peek(), now) >= window) _restartTimes.Dequeue();
            if (_restartTimes.Count >= RestartBudget) return false;
            _restartTimes.Enqueue(now);
            _restarts++;
            _restarting++;
            return true;
        }
    }

    /// <summary>The back-off before local rank <paramref name="localRank"/> starts again after a run of <paramref name="ranFor"/> (<see cref="RestartBackoff"/>).</summary>
    public TimeSpan NextDelay(int localRank, TimeSpan ranFor)
    {
        lock (_gate)
        {
            (var delay, _streaks[localRank]) = RestartBackoff.Next(Backoff, _streaks.GetValueOrDefault(localRank), ranFor);
            return delay;
        }
    }

    public void EndRestart()
    {
        lock (_gate) _restarting--;
    }
}
