using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>
/// What a counter records in this process, summed by the values of the tags named: only the instrument of that name on
/// a meter <c>ofMeter</c> accepts (the meter of the test's own host, so tests running in parallel do not count each
/// other's measurements).
/// </summary>
public sealed class CounterTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public CounterTotals(string instrument, Func<Meter, bool> ofMeter, params string[] byTags)
    {
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Name == instrument && ofMeter(published.Meter))
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var key = new string[byTags.Length];
            foreach (var tag in tags)
            {
                var index = Array.IndexOf(byTags, tag.Key);
                if (index >= 0)
                {
                    key[index] = tag.Value?.ToString() ?? "";
                }
            }
            _totals.AddOrUpdate(Key(key), value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    /// <summary>The total recorded with these values of the tags, in the order they were named; 0 if none.</summary>
    public long Count(params string[] tagValues) => _totals.GetValueOrDefault(Key(tagValues));

    public long Total => _totals.Values.Sum();

    /// <summary>Whether something is recorded with these tag values within 20 s.</summary>
    public Task<bool> EventuallyAsync(params string[] tagValues) =>
        Sql.EventuallyAsync(() => Task.FromResult(Count(tagValues) > 0), TimeSpan.FromSeconds(20));

    public void Dispose() => _listener.Dispose();

    private static string Key(string?[] values) => string.Join('\u001f', values.Select(v => v ?? ""));
}
