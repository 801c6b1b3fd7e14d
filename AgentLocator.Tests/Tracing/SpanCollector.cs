using System.Collections.Concurrent;
using System.Diagnostics;

namespace AgentLocator.Tests.Tracing;

/// <summary>
/// Records every span the in-process services finish (the product's sources, ASP.NET Core, Npgsql, StackExchange.Redis),
/// as an OpenTelemetry exporter would see them; tests pick their call's spans out by trace id.
/// </summary>
public sealed class SpanCollector : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public SpanCollector()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("AgentLocator.", StringComparison.OrdinalIgnoreCase)
                || source.Name is "Microsoft.AspNetCore" or "Npgsql" or "StackExchange.Redis",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> All => [.. _spans];

    public IReadOnlyList<Activity> InTrace(ActivityTraceId traceId) => [.. _spans.Where(s => s.TraceId == traceId)];

    /// <summary>Waits until the trace holds a span <paramref name="match"/> accepts; returns it.</summary>
    public async Task<Activity> WaitForAsync(ActivityTraceId traceId, Func<Activity, bool> match, string what, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (InTrace(traceId).FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no {what} in trace {traceId} within {timeout.TotalSeconds:0} s; the trace holds: " +
            string.Join(", ", InTrace(traceId).Select(s => $"{s.Source.Name}:{s.DisplayName}")));
    }

    public void Dispose() => _listener.Dispose();
}
