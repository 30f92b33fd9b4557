using System.Globalization;
using Cluster.Agent.Grains;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>Plain-text progress of a coordinated run: one line per finished epoch and at most one progress line every few seconds.</summary>
internal sealed class RunProgress(TextWriter output, TimeProvider time)
{
    private static readonly TimeSpan LineEvery = TimeSpan.FromSeconds(5);
    private long _firstStamp;
    private long _firstStep = -1;
    private long _lastLine = long.MinValue;
    private int _lastEpoch;
    private JobState _lastState = JobState.Pending;

    public void Update(JobStatus status, JobReport report)
    {
        if (status.State != _lastState)
        {
            _lastState = status.State;
            output.WriteLine($"run: job {status.JobId} {status.State.ToString().ToLowerInvariant()}{(status.Generation > 0 ? $", generation {status.Generation}, {status.Ranks.Count} rank(s)" : "")}");
        }
        if (report.LastEpoch is { } e && e.Epoch != _lastEpoch)
        {
            _lastEpoch = e.Epoch;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {e.Epoch}/{e.Epochs}: step {e.Step}, train loss {e.TrainLoss:F4}, test loss {e.TestLoss:F4}, test accuracy {e.TestAccuracy:F4}"));
        }
        var now = time.GetTimestamp();
        if (status.Step > 0 && (_lastLine == long.MinValue || time.GetElapsedTime(_lastLine, now) >= LineEvery))
        {
            _lastLine = now;
            output.WriteLine(Describe(status, report));
        }
    }

    /// <summary>"epoch 2/8, step 900/3750 (24%), loss 0.4123, 1234 samples/s, ETA 1m20s".</summary>
    public string Describe(JobStatus status, JobReport report)
    {
        var total = report.TotalSteps;
        var epochs = Math.Max(1, report.Epochs);
        var epoch = total > 0 ? Math.Min(epochs, (int)(status.Step * epochs / Math.Max(1, total)) + 1) : 0;
        var loss = status.Loss is { } l && double.IsFinite(l) ? l.ToString("F4", CultureInfo.InvariantCulture) : "-";
        var rate = status.SamplesPerSecond is { } r ? r.ToString("F0", CultureInfo.InvariantCulture) : "-";
        var eta = "-";
        if (status.Step > 0 && _firstStep < 0)
        {
            _firstStep = status.Step;
            _firstStamp = time.GetTimestamp();
        }
        else if (total > 0 && _firstStep >= 0 && status.Step > _firstStep)
        {
            var elapsed = time.GetElapsedTime(_firstStamp).TotalSeconds;
            eta = Format(TimeSpan.FromSeconds(elapsed * (total - status.Step) / (status.Step - _firstStep)));
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch}/{epochs}, step {status.Step}/{(total > 0 ? total : "?")}{(total > 0 ? $" ({100.0 * status.Step / total:F0}%)" : "")}, loss {loss}, {rate} samples/s, ETA {eta}");
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:00}s" : $"{t.Seconds}s";
}
