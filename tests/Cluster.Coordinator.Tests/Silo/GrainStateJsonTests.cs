using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;
using Cluster.Coordinator.Grains;
using Cluster.Coordinator.Storage;

namespace Cluster.Coordinator.Tests.Silo;

public sealed class GrainStateJsonTests
{
    [Fact]
    public void A_state_whose_lists_come_from_collection_expressions_reads_back_whole_and_names_no_runtime_type()
    {
        // The lists are what the grain builds: collection expressions (compiler-synthesized read-only types), which the
        // Newtonsoft form Redis storage used before wrote with their type names and then refused to read back.
        CheckpointManifest Manifest(long id) => new("job-1", id, 2, id * 10, 3, new EpochPlan(7, 1, id * 48), $"/ckpt/ckpt-{id}", DateTimeOffset.UnixEpoch,
            [new RankCheckpointFiles(0, [new CheckpointFile("model.bin", 123, "ab")])])
        {
            Lineage = "spec", SpecFields = [new SpecField("training.model", "mlp"), new SpecField("training.seed", "7")], Checksum = $"c{id}",
        };
        var state = new JobGrainState
        {
            State = JobState.Running,
            Checkpoints = new CheckpointState(2, 20, null, [Manifest(1), Manifest(2)]),
            Generation = new GenerationRecord(2, [new NodeRecord("node-1", "h1", "10.0.0.1", 0, 1) { Silo = "S10.0.0.1:11111:1" }]),
            Failures = ["rank 1 exited with code 137"],
        };
        var json = new GrainStateJson();

        var bytes = json.Serialize(state);
        var back = json.Deserialize<JobGrainState>(bytes);

        Assert.DoesNotContain("$type", bytes.ToString(), StringComparison.Ordinal);
        Assert.Equal(JobState.Running, back.State);
        Assert.Equal([1L, 2L], back.Checkpoints.Committed.Select(c => c.CheckpointId));
        Assert.Equal(["training.model", "training.seed"], back.Checkpoints.Committed[1].SpecFields.Select(f => f.Path));
        Assert.Equal("c2", back.Checkpoints.Latest!.Checksum);
        Assert.Equal("model.bin", back.Checkpoints.Latest.Ranks[0].Files[0].Name);
        Assert.Equal("S10.0.0.1:11111:1", back.Generation!.Nodes[0].Silo);
        Assert.Equal(["rank 1 exited with code 137"], back.Failures);
    }
}
