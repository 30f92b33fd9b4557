using System.Text.Json;
using StackExchange.Redis;

namespace Cluster.Cli.Commands.Bench;

/// <summary>
/// Reads Orleans' membership table straight from Redis (the hash <c>{serviceId}/members/{clusterId}</c> that the Redis
/// clustering provider writes: one JSON entry per silo, plus the table version), so that a bench sees what the silos
/// wrote without a grain call that may wait on the silo it just killed.
/// </summary>
internal sealed class MembershipTable(IDatabase redis, string serviceId, string clusterId)
{
    /// <summary>One silo's row: its address ("S127.0.0.1:port:generation" form), status (Orleans' <c>SiloStatus</c>) and suspicions.</summary>
    public sealed record Row(string Silo, SiloStatus Status, int Suspicions);

    public async Task<IReadOnlyList<Row>> ReadAsync()
    {
        var rows = new List<Row>();
        foreach (var field in await redis.HashGetAllAsync($"{serviceId}/members/{clusterId}").ConfigureAwait(false))
        {
            var value = (string?)field.Value;
            if (value is null || !value.StartsWith('{')) continue; // the version row
            using var json = JsonDocument.Parse(value);
            var root = json.RootElement;
            var status = root.TryGetProperty("Status", out var s) && s.ValueKind == JsonValueKind.Number ? (SiloStatus)s.GetInt32() : SiloStatus.None;
            var suspicions = root.TryGetProperty("SuspectTimes", out var t) && t.ValueKind == JsonValueKind.Array ? t.GetArrayLength() : 0;
            rows.Add(new Row((string?)field.Name ?? "", status, suspicions));
        }
        return rows;
    }
}
