using System.Globalization;
using System.Text.Json.Serialization;

namespace Cluster.Cli.Commands.Bench;

/// <summary>The figures of one `bench control-plane` run (JSON: the last stdout line with --json).</summary>
internal sealed record ControlPlaneResult
{
    [JsonPropertyName("nodes")] public int Nodes { get; init; }
    [JsonPropertyName("nproc_per_node")] public int NprocPerNode { get; init; }
    [JsonPropertyName("ranks")] public int Ranks => Nodes * NprocPerNode;
    [JsonPropertyName("storage")] public string Storage { get; init; } = "";
    [JsonPropertyName("clients")] public int Clients { get; init; }
    [JsonPropertyName("beat_ms")] public double BeatMs { get; init; }
    [JsonPropertyName("rendezvous_s")] public double RendezvousSeconds { get; init; }
    /// <summary>Seconds from the first join until the last join was accepted, the last node assignment and the last peer table arrived.</summary>
    [JsonPropertyName("last_join_s")] public double? LastJoinSeconds { get; init; }
    [JsonPropertyName("last_assignment_s")] public double? LastAssignmentSeconds { get; init; }
    [JsonPropertyName("last_peer_table_s")] public double? LastPeerTableSeconds { get; init; }
    [JsonPropertyName("failed_joins")] public int FailedJoins { get; init; }
    [JsonPropertyName("first_join_error")] public string? FirstJoinError { get; init; }
    /// <summary>Bytes of packed peer table handed out in all (once per node).</summary>
    [JsonPropertyName("peer_table_bytes_handed_out")] public long PeerTableBytes { get; init; }
    /// <summary>Bytes Redis received (INFO total_net_input_bytes) during the rendezvous; null with memory storage.</summary>
    [JsonPropertyName("redis_bytes_per_rendezvous")] public long? RedisBytesPerRendezvous { get; init; }
    [JsonPropertyName("silo_cpu_s_rendezvous")] public double SiloCpuRendezvous { get; init; }
    [JsonPropertyName("steady_calls_per_s")] public double CallsPerSecond { get; init; }
    [JsonPropertyName("steady_calls_per_node_per_beat")] public double CallsPerNodePerBeat { get; init; }
    [JsonPropertyName("steady_p50_ms")] public double? P50Ms { get; init; }
    [JsonPropertyName("steady_p99_ms")] public double? P99Ms { get; init; }
    /// <summary>Silo CPU seconds per second of steady state, in % of one core.</summary>
    [JsonPropertyName("steady_silo_cpu_pct_core")] public double SiloCpuPercent { get; init; }
    [JsonPropertyName("redis_bytes_per_s_steady")] public double? RedisBytesPerSecond { get; init; }
    [JsonPropertyName("checkpoint_round_s")] public double? CheckpointRoundSeconds { get; init; }
    [JsonPropertyName("redis_bytes_per_checkpoint")] public long? RedisBytesPerCheckpoint { get; init; }
    /// <summary>A rank lost (exit 137 reported by its node): milliseconds until each survivor heard the regroup.</summary>
    [JsonPropertyName("recovery_regroup_p50_ms")] public double? RegroupP50Ms { get; init; }
    [JsonPropertyName("recovery_regroup_p99_ms")] public double? RegroupP99Ms { get; init; }
    /// <summary>Seconds from the loss until every survivor held its assignment of the next generation.</summary>
    [JsonPropertyName("recovery_generation_formed_s")] public double? RecoveryFormedSeconds { get; init; }
    [JsonPropertyName("recovery_missed")] public int? RecoveryMissed { get; init; }
    [JsonPropertyName("directive_p50_ms")] public double? DirectiveP50Ms { get; init; }
    [JsonPropertyName("directive_p99_ms")] public double? DirectiveP99Ms { get; init; }
    [JsonPropertyName("directive_missed")] public int? DirectiveMissed { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }

    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        string Or(double? v, string format) => v is { } x && !double.IsNaN(x) ? x.ToString(format, c) : "-";
        return string.Create(c, $"""
            control plane: {Nodes} nodes x {NprocPerNode} ranks = {Ranks} ranks, {Storage} storage, {Clients} client connection(s), beat {BeatMs:0} ms
              rendezvous        {RendezvousSeconds:0.00} s (first join -> last rank assigned; last join {Or(LastJoinSeconds, "0.00")} s, last node assignment {Or(LastAssignmentSeconds, "0.00")} s, last peer table {Or(LastPeerTableSeconds, "0.00")} s), {FailedJoins} failed joins{(FirstJoinError is null ? "" : $" (first: {FirstJoinError})")}
                                {PeerTableBytes:N0} bytes of peer table handed out, Redis received {Or(RedisBytesPerRendezvous, "N0")} bytes, silo CPU {SiloCpuRendezvous:0.00} s
              steady state      {CallsPerSecond:0.0} calls/s = {CallsPerNodePerBeat:0.00} calls per node per beat (beats and held directive calls), beat p50 {Or(P50Ms, "0.00")} ms, p99 {Or(P99Ms, "0.00")} ms
                                silo CPU {SiloCpuPercent:0.0} % of one core (limit at 1,000 x 8: 10 %), Redis {Or(RedisBytesPerSecond, "N0")} bytes/s
              checkpoint round  {Or(CheckpointRoundSeconds, "0.00")} s open -> commit (limit at 1,000 x 8: 2 s), Redis received {Or(RedisBytesPerCheckpoint, "N0")} bytes
              recovery          a rank lost: the regroup reached every survivor p50 {Or(RegroupP50Ms, "0")} ms, p99 {Or(RegroupP99Ms, "0")} ms (limit at 1,000 x 8: 200 ms); next generation formed in {Or(RecoveryFormedSeconds, "0.00")} s (limit 5 s), {Or(RecoveryMissed, "0")} survivors missed it
              directive         p50 {Or(DirectiveP50Ms, "0")} ms, p99 {Or(DirectiveP99Ms, "0")} ms to reach every rank (limit at 1,000 x 8: 200 ms), {Or(DirectiveMissed, "0")} ranks missed it
            """) + (Error is null ? "" : $"\n  error             {Error}");
    }
}
