using System.Collections.Concurrent;
using AgentLocator.Data.Calls;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.Voice;

/// <summary>
/// Which business owns a dialled number. Answers from a short-lived cache, and from the last
/// known answer when Postgres is unreachable, so the phone keeps being answered during an outage.
/// </summary>
public sealed class BusinessDirectory(IOptions<VoiceOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (BusinessRoute? Route, DateTimeOffset At)> _cache = new(StringComparer.Ordinal);

    /// <param name="services">The request's services: its <see cref="CallStore"/> (a pooled database context) is taken only on a cache miss.</param>
    /// <param name="budget">Cancels when the database budget is spent (a database failure, answered from the cache).</param>
    /// <param name="requestAborted">Cancels when the caller went away (not a database failure).</param>
    public async Task<DirectoryAnswer> FindAsync(string number, IServiceProvider services, CancellationToken budget, CancellationToken requestAborted)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(number, out var cached) && now - cached.At < options.Value.DirectoryCacheTtl)
        {
            return new DirectoryAnswer(cached.Route, FromDatabase: false, DatabaseFailed: false);
        }
        try
        {
            var route = await services.GetRequiredService<CallStore>().FindBusinessByNumberAsync(number, budget);
            _cache[number] = (route, now);
            return new DirectoryAnswer(route, FromDatabase: true, DatabaseFailed: false);
        }
        catch (Exception ex) when (DatabaseFailures.IsTransient(ex, requestAborted))
        {
            return new DirectoryAnswer(cached.Route, FromDatabase: false, DatabaseFailed: true);
        }
    }

    /// <summary>
    /// The last known answer, however old, without asking Postgres (a webhook shed under load); a number never looked up
    /// is unknown, as when the database is down.
    /// </summary>
    public DirectoryAnswer FromCache(string number) =>
        _cache.TryGetValue(number, out var cached)
            ? new DirectoryAnswer(cached.Route, FromDatabase: false, DatabaseFailed: false)
            : new DirectoryAnswer(null, FromDatabase: false, DatabaseFailed: true);
}

public sealed record DirectoryAnswer(BusinessRoute? Route, bool FromDatabase, bool DatabaseFailed);
