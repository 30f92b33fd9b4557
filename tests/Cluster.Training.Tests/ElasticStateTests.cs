using Cluster.Training.Checkpoints;
using Cluster.Training.Elastic;
using Cluster.Training.Tests.Fakes;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>
/// The elastic state API a user-written loop uses (commit / restore / sync, one handler per kind of state), on in-process
/// communicators: a rank that lags receives the newest state, a failed half-step is undone, diverged ranks are refused.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class ElasticStateTests
{
    /// <summary>One rank's loop: a linear model, SGD with momentum (state that matters), and a cursor value.</summary>
    private sealed class Loop : IDisposable
    {
        public Loop(long seed)
        {
            manual_seed(seed);
            Model = nn.Linear(6, 3);
            Optimizer = optim.SGD(Model.parameters(), 0.1, momentum: 0.9);
            State = ElasticState.Of(Model, Optimizer, new JsonCheckpointPart<int>("cursor.json", () => Cursor, c => Cursor = c));
        }

        public TorchSharp.Modules.Linear Model { get; }
        public optim.Optimizer Optimizer { get; }
        public ElasticState State { get; }
        public int Cursor { get; set; }

        /// <summary>One optimizer step on a batch fixed by <paramref name="batch"/> (the same on every rank).</summary>
        public void Train(int batch)
        {
            manual_seed(1000 + batch);
            using var x = randn(8, 6);
            using var y = randn(8, 3);
            Optimizer.zero_grad();
            using var loss = nn.functional.mse_loss(Model.forward(x), y);
            loss.backward();
            Optimizer.step();
            Cursor = (batch + 1) * 8;
        }

        public float[] Weights => [.. Model.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray())];

        public void Dispose()
        {
            Optimizer.Dispose();
            Model.Dispose();
        }
    }

    private static Task<StateExchange[]> SyncAllAsync(Loop[] loops) =>
        Task.WhenAll(new ThreadGroup(loops.Length).CreateCommunicators().Select((c, r) => Task.Run(() => loops[r].State.SyncAsync(c, 1 << 20, CancellationToken.None))));

    [Fact]
    public async Task A_lagging_rank_receives_model_optimizer_and_values_and_then_trains_bit_identical_to_the_source()
    {
        using var survivor = new Loop(1);
        using var replacement = new Loop(2); // another initialisation: nothing in common yet
        for (var b = 0; b < 3; b++) { survivor.Train(b); survivor.State.Commit(b + 1); }
        Assert.NotEqual(survivor.Weights, replacement.Weights);

        var results = await SyncAllAsync([survivor, replacement]);
        Assert.All(results, r => Assert.Equal((3L, 0), (r.Step, r.Source)));
        Assert.Equal([1], results[0].Receivers);
        Assert.Null(results[0].Received); // the source keeps its own
        Assert.NotNull(results[1].Received);
        Assert.Equal(survivor.Weights, replacement.Weights);
        Assert.Equal((24, 3L, 3L), (replacement.Cursor, replacement.State.Step, replacement.State.CommittedStep));
        // The optimizer's momentum came too: the next step is the same on both, bit for bit.
        survivor.Train(3);
        replacement.Train(3);
        Assert.Equal(survivor.Weights, replacement.Weights);
    }

    [Fact]
    public async Task Equal_states_are_not_sent_and_restore_undoes_a_half_applied_step()
    {
        using var a = new Loop(1);
        using var b = new Loop(1);
        a.Train(0); a.State.Commit(1);
        b.Train(0); b.State.Commit(1);
        var results = await SyncAllAsync([a, b]);
        Assert.All(results, r => Assert.Empty(r.Receivers));
        Assert.All(results, r => Assert.Null(r.Received));

        var committed = a.Weights;
        a.Train(1); // a failure after this update: the step must not count
        Assert.NotEqual(committed, a.Weights);
        a.State.Restore();
        Assert.Equal(committed, a.Weights);
        Assert.Equal((8, 1L), (a.Cursor, a.State.Step));
        a.Train(1);
        b.Train(1);
        Assert.Equal(b.Weights, a.Weights); // the momentum was restored with the parameters
        using var fresh = new Loop(3);
        Assert.Throws<InvalidOperationException>(() => fresh.State.Restore());
    }

    [Fact]
    public async Task Ranks_at_the_same_step_with_different_states_are_refused_by_name()
    {
        using var a = new Loop(1);
        using var b = new Loop(2);
        a.Train(0); a.State.Commit(1);
        b.Train(0); b.State.Commit(1);
        var ex = await Assert.ThrowsAsync<StateDivergedException>(() => SyncAllAsync([a, b]));
        Assert.Equal(1L, ex.Step);
        Assert.Equal([0, 1], ex.Ranks);
        Assert.Throws<ArgumentException>(() => new ElasticState([new JsonCheckpointPart<int>("x.json", () => 0, _ => { }), new JsonCheckpointPart<int>("x.json", () => 0, _ => { })]));
    }
}
