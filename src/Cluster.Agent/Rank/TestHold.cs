using System.Globalization;

namespace Cluster.Agent.Rank;

/// <summary>
/// Test hook: with <c>CLUSTER_TEST_HOLD_CHECKPOINT=jobId:checkpointId</c> in its environment a rank writes that
/// checkpoint's files, then holds before acking (at most 2 minutes or until aborted), so tests can kill a rank in
/// the middle of a checkpoint. Unset in normal operation.
/// </summary>
internal static class TestHold
{
    public const string Variable = "CLUSTER_TEST_HOLD_CHECKPOINT";

    public static async Task BeforeAckAsync(string jobId, long checkpointId, Action<string> log, CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } value) return;
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || value[..colon] != jobId || !long.TryParse(value.AsSpan(colon + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) || id != checkpointId) return;
        log($"test hold: checkpoint {checkpointId} written, holding the ack");
        await Task.Delay(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
    }
}
