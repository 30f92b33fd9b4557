using Polly;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace Cluster.Coordinator.Hosting;

/// <summary>
/// Startup check that Redis answers PING, retried with exponential backoff under a total deadline, so a
/// misconfigured endpoint fails fast with a message naming it instead of a silo hanging in membership.
/// </summary>
public static class RedisPreflight
{
    /// <summary>Connects and pings; throws <see cref="InvalidOperationException"/> naming the endpoint when the deadline passes.</summary>
    public static async Task EnsureReachableAsync(string configuration, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        if (deadline <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(deadline), deadline, "deadline must be > 0");
        var options = ConfigurationOptions.Parse(configuration);
        var endpoint = string.Join(",", options.EndPoints.Select(e => e.ToString()));
        var attemptTimeout = TimeSpan.FromMilliseconds(Math.Clamp(deadline.TotalMilliseconds / 3, 200, 2000));
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 0;
        options.ConnectTimeout = (int)attemptTimeout.TotalMilliseconds;
        options.SyncTimeout = (int)attemptTimeout.TotalMilliseconds;

        var pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(new TimeoutStrategyOptions { Timeout = deadline })
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>().Handle<System.Net.Sockets.SocketException>(),
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(1),
                MaxRetryAttempts = int.MaxValue,
                UseJitter = true,
            })
            .Build();
        Exception? last = null;
        try
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                try
                {
                    await using var connection = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(attemptTimeout, ct);
                    await connection.GetDatabase().PingAsync().WaitAsync(attemptTimeout, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    last = e;
                    throw;
                }
            }, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutRejectedException or RedisException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"Redis at {endpoint} is not reachable within {deadline.TotalSeconds:0.###}s: {(last ?? e).Message}", last ?? e);
        }
    }
}
