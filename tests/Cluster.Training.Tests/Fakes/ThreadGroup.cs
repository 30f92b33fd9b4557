namespace Cluster.Training.Tests.Fakes;

/// <summary>Shared state of an in-process group of <see cref="ThreadCommunicator"/>s: the k-th collective of every
/// rank meets in round k; the round completes when all ranks have contributed.</summary>
internal sealed class ThreadGroup(int worldSize)
{
    private readonly object gate = new();
    private readonly Dictionary<long, Round> rounds = [];

    public int WorldSize { get; } = worldSize;

    public ThreadCommunicator[] CreateCommunicators() =>
        Enumerable.Range(0, WorldSize).Select(r => new ThreadCommunicator(this, r)).ToArray();

    public async Task<object[]> ExchangeAsync(long sequence, int rank, object contribution, CancellationToken cancellationToken)
    {
        Round round;
        lock (gate)
        {
            if (!rounds.TryGetValue(sequence, out round!))
            {
                round = new Round(WorldSize);
                rounds[sequence] = round;
            }
            round.Contributions[rank] = contribution;
            if (++round.Arrived == WorldSize)
            {
                rounds.Remove(sequence);
                round.Done.SetResult(round.Contributions);
            }
        }
        return await round.Done.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
    }

    private sealed class Round(int world)
    {
        public readonly object[] Contributions = new object[world];
        public readonly TaskCompletionSource<object[]> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Arrived;
    }
}
