using Cluster.Training.Audit;
using Xunit;

namespace Cluster.Training.Tests;

/// <summary>The audit's counting rule on hand-written records (the process-level check is in ClusterRunRecoveryTests).</summary>
public sealed class SampleAuditTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("t1-audit-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void A_step_counts_when_a_rank_whose_state_went_on_applied_it_and_a_discarded_step_is_retrained_once()
    {
        // Samples 0..7, two per rank and step. Generation 1 (ranks A, B): step at 0 applied by both; the step at 4 was read
        // by both, applied only by B, which was then lost (A had not applied it: its state did not go on). Generation 2
        // (A alone) trains positions 4..7 again in two steps.
        using (var a = new SampleAudit(dir, "a"))
        using (var b = new SampleAudit(dir, "b"))
        {
            a.Read(1, 0, 2, 0, 0, [0, 1]); b.Read(1, 1, 2, 0, 0, [2, 3]);
            a.Outcome(1, 0, 0, 0, 1, applied: true); b.Outcome(1, 1, 0, 0, 1, applied: true);
            a.Read(1, 0, 2, 0, 4, [4, 5]); b.Read(1, 1, 2, 0, 4, [6, 7]);
            b.Outcome(1, 1, 0, 4, 2, applied: true);
            a.Read(2, 0, 1, 0, 4, [4, 5]); a.Outcome(2, 0, 0, 4, 2, applied: true);
            a.Read(2, 0, 1, 0, 6, [6, 7]); a.Outcome(2, 0, 0, 6, 3, applied: true);
        }
        var epoch = Assert.Single(SampleAuditCheck.Check(dir, 8, [0]));
        Assert.Equal(new SampleAuditCheck.EpochCount(0, Trained: 8, Missing: 0, Duplicated: 0, Discarded: 1, Skipped: 0), epoch);
    }

    [Fact]
    public void After_a_restart_from_a_checkpoint_the_redone_steps_count_and_the_steps_before_the_checkpoint_stay()
    {
        // Generation 1 (A, B) applies steps 1..3 at positions 0, 2, 4; its checkpoint holds step 1; both are lost. Generation
        // 2 (new processes C, D) restores step 1 and redoes steps 2 and 3 (positions 2 and 4), then step 4 (position 6).
        using (var a = new SampleAudit(dir, "a"))
        using (var b = new SampleAudit(dir, "b"))
        using (var c = new SampleAudit(dir, "c"))
        using (var d = new SampleAudit(dir, "d"))
        {
            for (var s = 0; s < 3; s++)
            {
                a.Read(1, 0, 2, 0, 2 * s, [2 * s]); b.Read(1, 1, 2, 0, 2 * s, [2 * s + 1]);
                a.Outcome(1, 0, 0, 2 * s, s + 1, applied: true); b.Outcome(1, 1, 0, 2 * s, s + 1, applied: true);
            }
            for (var s = 1; s < 4; s++)
            {
                c.Read(2, 0, 2, 0, 2 * s, [2 * s]); d.Read(2, 1, 2, 0, 2 * s, [2 * s + 1]);
                c.Outcome(2, 0, 0, 2 * s, s + 1, applied: true); d.Outcome(2, 1, 0, 2 * s, s + 1, applied: true);
            }
        }
        var epoch = Assert.Single(SampleAuditCheck.Check(dir, 8, [0]));
        Assert.Equal(new SampleAuditCheck.EpochCount(0, Trained: 8, Missing: 0, Duplicated: 0, Discarded: 2, Skipped: 0), epoch);
    }

    [Fact]
    public void A_sample_trained_twice_or_never_is_counted()
    {
        using (var a = new SampleAudit(dir, "a"))
        {
            a.Read(1, 0, 1, 0, 0, [0, 1]); a.Outcome(1, 0, 0, 0, 1, applied: true);
            a.Read(1, 0, 1, 0, 2, [1, 2]); a.Outcome(1, 0, 0, 2, 2, applied: true);
            a.Read(1, 0, 1, 0, 4, [4]); a.Outcome(1, 0, 0, 4, 3, applied: false); // a non-finite step: consumed, not trained
        }
        var epoch = Assert.Single(SampleAuditCheck.Check(dir, 5, [0]));
        Assert.Equal((2, 2, 1, 0, 1), (epoch.Trained, epoch.Missing, epoch.Duplicated, epoch.Discarded, epoch.Skipped)); // 0 and 2 once, 1 twice; 3 and 4 never
        Assert.Throws<ArgumentException>(() => new SampleAudit(dir, "../x"));
    }
}
