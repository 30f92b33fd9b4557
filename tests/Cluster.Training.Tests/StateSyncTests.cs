using System.Security.Cryptography;
using Cluster.Collectives;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;
using Cluster.Training.Tests.Fakes;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>
/// The trainer's state sync at the start of a generation, on in-process communicators (the process-level recovery tests
/// are in ClusterRunRecoveryTests): a rank that lacks the newest state receives it from a survivor over the collectives.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class StateSyncTests
{
    private static float[] Weights(nn.Module m) => m.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray();

    private static async Task<float[][]> RunAsync(IReadOnlyList<Trainer> trainers, ICommunicator[] communicators, bool rebind)
    {
        await Task.WhenAll(trainers.Select((t, i) => Task.Run(async () =>
        {
            if (rebind) await t.RebindAsync(communicators[i], CancellationToken.None);
            await t.RunAsync(CancellationToken.None);
        })));
        return [.. trainers.Select(t => Weights(t.Model))];
    }

    /// <summary>The reference: 2 ranks, 10 steps of the test spec with momentum, uninterrupted; the spec, its data and the weights per rank.</summary>
    private static async Task<(Cluster.Abstractions.TrainingSpec Spec, JobData Data, float[][] Weights)> UninterruptedAsync()
    {
        var spec = TrainerTests.Spec(epochs: 2);
        spec.MaxSteps = 10;
        var data = JobData.Load(spec);
        var reference = new ThreadGroup(2).CreateCommunicators();
        var trainers = reference.Select(c => new Trainer(spec, data, c, new TrainerOptions { SkipEvaluation = true })).ToArray();
        try { return (spec, data, await RunAsync(trainers, reference, rebind: false)); }
        finally { foreach (var t in trainers) t.Dispose(); }
    }

    [Fact]
    public async Task A_fresh_rank_joining_at_step_5_receives_the_survivors_state_and_the_run_equals_an_uninterrupted_one()
    {
        // Momentum makes the optimizer state matter: a replacement without the moments would drift from the reference.
        var (spec, data, expected) = await UninterruptedAsync();

        var first = TrainerTests.Spec(epochs: 2);
        first.MaxSteps = 5;
        var lines = new List<string>();
        var generation1 = new ThreadGroup(2).CreateCommunicators();
        var survivor = new Trainer(first, data, generation1[0], new TrainerOptions { SkipEvaluation = true, Log = l => { lock (lines) lines.Add("0: " + l); } });
        var lost = new Trainer(first, data, generation1[1], new TrainerOptions { SkipEvaluation = true });
        Trainer? replacement = null;
        try
        {
            await RunAsync([survivor, lost], generation1, rebind: false);
            Assert.Equal(5, survivor.Step);
            first.MaxSteps = 10; // the survivor's spec: the job goes on
            var generation2 = new ThreadGroup(2).CreateCommunicators();
            replacement = new Trainer(spec, data, generation2[1], new TrainerOptions { SkipEvaluation = true, Log = l => { lock (lines) lines.Add("1: " + l); } });
            await Task.WhenAll(
                Task.Run(async () => { await survivor.RebindAsync(generation2[0], CancellationToken.None); await survivor.RunAsync(CancellationToken.None); }),
                Task.Run(() => replacement.RunAsync(CancellationToken.None)));
            Assert.Equal(10, replacement.Step);
            Assert.Equal(expected[0], Weights(survivor.Model));
            Assert.Equal(expected[1], Weights(replacement.Model));
            Assert.Contains(lines, l => l.Contains("rank(s) 1@0 received the state of step 5 from rank 0", StringComparison.Ordinal));
        }
        finally
        {
            survivor.Dispose();
            lost.Dispose();
            replacement?.Dispose();
        }
    }

    [Fact]
    public async Task Ranks_at_one_step_with_different_states_all_restore_the_newest_committed_checkpoint_or_fail_without_one()
    {
        var (spec, data, expected) = await UninterruptedAsync();

        var root = Directory.CreateTempSubdirectory("t1-disagree-").FullName;
        var first = TrainerTests.Spec(epochs: 2);
        first.MaxSteps = 5;
        var lines = new List<string>();
        var generation1 = new ThreadGroup(2).CreateCommunicators();
        var trainers = Enumerable.Range(0, 2).Select(r => new Trainer(first, data, generation1[r],
            new TrainerOptions { SkipEvaluation = true, CheckpointIntervalSteps = 5, Log = l => { lock (lines) lines.Add($"{r}: {l}"); } }.In(root, r, 2))).ToArray();
        try
        {
            await RunAsync(trainers, generation1, rebind: false);
            var committed = Cluster.Coordinator.Contracts.Checkpoints.CheckpointLineage.Scan(root, 3).Latest!;
            Assert.Equal(5, committed.Step);
            // Rank 1's state goes wrong at the same step (no vote explains it): neither rank can be trusted.
            using (no_grad()) trainers[1].Model.parameters().First().add_(0.01f);
            first.MaxSteps = 10;
            var without = new ThreadGroup(2).CreateCommunicators();
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync(trainers, without, rebind: true));
            Assert.Contains("ranks at step 5 hold different states", refused.Message);
            Assert.Contains("no checkpoint is committed to fall back to", refused.Message);

            var generation2 = new ThreadGroup(2).CreateCommunicators();
            await Task.WhenAll(trainers.Select((t, i) => Task.Run(async () =>
            {
                await t.RebindAsync(generation2[i], CancellationToken.None, committed);
                await t.RunAsync(CancellationToken.None);
            })));
            // Both restored the checkpoint of step 5 from disk and trained on: the uninterrupted run's weights.
            Assert.Equal(expected[0], Weights(trainers[0].Model));
            Assert.Equal(expected[1], Weights(trainers[1].Model));
            Assert.Contains(lines, l => l.StartsWith("0: ", StringComparison.Ordinal) && l.Contains("ranks at step 5 hold different states", StringComparison.Ordinal)
                && l.Contains("every rank restored", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var t in trainers) t.Dispose();
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Ranks_with_equal_state_transfer_nothing_and_say_it_was_verified()
    {
        var spec = TrainerTests.Spec(epochs: 1);
        spec.MaxSteps = 3;
        var data = JobData.Load(spec);
        var lines = new List<string>();
        var communicators = new ThreadGroup(2).CreateCommunicators();
        var trainers = communicators.Select(c => new Trainer(spec, data, c, new TrainerOptions { SkipEvaluation = true, Log = l => { lock (lines) lines.Add(l); } })).ToArray();
        try
        {
            var weights = await RunAsync(trainers, communicators, rebind: false);
            Assert.Equal(weights[0], weights[1]);
            Assert.Contains(lines, l => l.Contains("2 rank(s) go on from step 0 (epoch 0, position 0), state verified equal", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("received the state", StringComparison.Ordinal));
        }
        finally { foreach (var t in trainers) t.Dispose(); }
    }

    [Fact]
    public void The_directory_round_trips_and_refuses_lengths_beyond_the_limit_before_allocating()
    {
        var parts = new[] { new StatePart("model.bin", 1000, SHA256.HashData(new byte[1000])), new StatePart("trainer.json", 20, SHA256.HashData(new byte[20])) };
        var packed = StateDirectory.Pack(42, parts);
        var (step, unpacked) = StateDirectory.Unpack(packed, 1020);
        Assert.Equal(42, step);
        Assert.Equal(["model.bin", "trainer.json"], unpacked.Select(p => p.Name));
        Assert.Equal(parts[0].Sha256, unpacked[0].Sha256);
        var e = Assert.Throws<FormatException>(() => StateDirectory.Unpack(packed, 1019));
        Assert.Contains("at most 1019 bytes", e.Message);
        Assert.Throws<FormatException>(() => StateDirectory.Unpack(packed.AsMemory(0, packed.Length - 5), 1 << 20));
        var huge = StateDirectory.Pack(1, [new StatePart("x", long.MaxValue, new byte[32])]);
        Assert.Throws<FormatException>(() => StateDirectory.Unpack(huge, 1 << 20));
    }

    [Fact]
    public async Task A_part_is_received_as_sent_and_a_corrupted_one_is_refused_naming_it()
    {
        var good = new[] { new StateImage("model.bin", [1, 2, 3, 4]), new StateImage("trainer.json", [9]) };
        var communicators = new ThreadGroup(2).CreateCommunicators();
        var send = StateTransfer.BroadcastAsync(communicators[0], 0, 7, good, 1 << 20, CancellationToken.None);
        var (step, parts) = await StateTransfer.BroadcastAsync(communicators[1], 0, 7, null, 1 << 20, CancellationToken.None);
        await send;
        Assert.Equal(7, step);
        Assert.Equal(good.Select(p => p.Bytes), parts.Select(p => p.Bytes));
        Assert.Equal(StateTransfer.Fingerprint(good), StateTransfer.Fingerprint(parts));
        Assert.NotEqual(StateTransfer.Fingerprint(good), StateTransfer.Fingerprint([new StateImage("model.bin", [1, 2, 3, 5]), good[1]]));

        // Byte broadcasts: the directory (1), model.bin (2), trainer.json (3): the receiver's copy of the last part is flipped.
        var group = new ThreadGroup(2).CreateCommunicators();
        var sender = StateTransfer.BroadcastAsync(group[0], 0, 7, good, 1 << 20, CancellationToken.None);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => StateTransfer.BroadcastAsync(new CorruptingCommunicator(group[1], 3), 0, 7, null, 1 << 20, CancellationToken.None));
        Assert.Contains("from rank 0: part trainer.json (1 bytes) does not match its checksum", e.Message);
        await sender;
    }
}
