using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Cluster.Collectives.Tests;

/// <summary>Collects log messages (a fake sink for asserting that refusals are logged).</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));

    public int Count(Func<string, bool> match) => Entries.Count(e => match(e.Message));
}
