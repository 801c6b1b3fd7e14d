using System.Diagnostics.Metrics;
using System.Text.Json;
using AgentLocator.Data.Calls;
using AgentLocator.Redis;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Data.Sessions;

/// <summary>
/// Live call state in Redis, shared by every replica: the session (<c>call:{CallSid}</c>, JSON, with
/// a TTL), the stream-start watchdog (sorted set <see cref="WatchdogKey"/>, scored by deadline) and
/// live events (channel <see cref="EventsChannel"/>). Redis being down never throws to a caller:
/// each miss is logged, counted as degraded (<c>agentlocator.redis.degraded</c>) and reported as
/// false / null, and the client reconnects by itself.
/// </summary>
public sealed partial class RedisCallSessions(IRedisClient redis, ILogger<RedisCallSessions> logger, IMeterFactory meters) : ICallSessions
{
    public const string WatchdogKey = "agentlocator:watchdog:stream-start";
    public const string EventsChannel = "agentlocator:call-events";

    /// <summary>A Redis call never holds up a webhook longer than this.</summary>
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(500);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Counter<long> _degraded = meters.Create("AgentLocator.Sessions").CreateCounter<long>(
        "agentlocator.redis.degraded", description: "Operations skipped because Redis was unreachable");

    public long DegradedCount => Interlocked.Read(ref _degradedCount);

    private long _degradedCount;

    public static string SessionKey(string callSid) => "agentlocator:call:" + callSid;

    public Task<bool> SaveAsync(CallSession session, TimeSpan ttl, CancellationToken cancellationToken) =>
        RunAsync("save_session", ct => redis.SetAsync(SessionKey(session.CallSid), JsonSerializer.Serialize(session, Json), ttl, ct), false, cancellationToken);

    public Task<CallSession?> GetAsync(string callSid, CancellationToken cancellationToken) =>
        RunAsync<CallSession?>("get_session", async ct =>
        {
            var json = await redis.GetAsync(SessionKey(callSid), ct);
            return json is null ? null : JsonSerializer.Deserialize<CallSession>(json, Json);
        }, null, cancellationToken);

    public Task<bool> ArmWatchdogAsync(string callSid, DateTimeOffset deadline, CancellationToken cancellationToken) =>
        RunAsync("arm_watchdog", async ct =>
        {
            await redis.SortedSetAddAsync(WatchdogKey, callSid, deadline.ToUnixTimeMilliseconds(), ct);
            return true;
        }, false, cancellationToken);

    public Task<bool> DisarmWatchdogAsync(string callSid, CancellationToken cancellationToken) =>
        RunAsync("disarm_watchdog", ct => redis.SortedSetRemoveAsync(WatchdogKey, callSid, ct), false, cancellationToken);

    public Task<bool> PublishAsync(CallEvent callEvent, CancellationToken cancellationToken) =>
        RunAsync("publish_event", async ct =>
        {
            await redis.PublishAsync(EventsChannel, JsonSerializer.Serialize(callEvent, Json), ct);
            return true;
        }, false, cancellationToken);

    /// <summary>Watchdogs whose deadline has passed (at most <paramref name="limit"/>); empty when Redis is down.</summary>
    public Task<string[]> DueWatchdogsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        RunAsync("due_watchdogs", ct => redis.SortedSetRangeByScoreAsync(WatchdogKey, double.NegativeInfinity, now.ToUnixTimeMilliseconds(), 0, limit, ct),
            [], cancellationToken);

    /// <summary>
    /// Claims an overdue watchdog. Removing the member is atomic, so of all the replicas that saw
    /// it due exactly one gets true and fires it.
    /// </summary>
    public Task<bool> ClaimWatchdogAsync(string callSid, CancellationToken cancellationToken) =>
        RunAsync("claim_watchdog", ct => redis.SortedSetRemoveAsync(WatchdogKey, callSid, ct), false, cancellationToken);

    /// <summary>Remembers a webhook's answer under Twilio's idempotency token, so a retry is answered the same.</summary>
    public Task<bool> RememberResponseAsync(string key, string response, TimeSpan ttl, CancellationToken cancellationToken) =>
        RunAsync("remember_response", ct => redis.SetAsync("agentlocator:idem:" + key, response, ttl, ct), false, cancellationToken);

    public Task<string?> RecallResponseAsync(string key, CancellationToken cancellationToken) =>
        RunAsync<string?>("recall_response", ct => redis.GetAsync("agentlocator:idem:" + key, ct), null, cancellationToken);

    private async Task<T> RunAsync<T>(string operation, Func<CancellationToken, Task<T>> action, T whenDown, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(OperationTimeout);
        try
        {
            return await action(timeout.Token);
        }
        catch (Exception ex) when (ex is RedisException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Interlocked.Increment(ref _degradedCount);
            _degraded.Add(1, new KeyValuePair<string, object?>("operation", operation));
            LogDegraded(logger, operation, ex.Message);
            return whenDown;
        }
    }

    [LoggerMessage(EventId = 5001, EventName = "REDIS_DEGRADED", Level = LogLevel.Warning,
        Message = "REDIS_DEGRADED {Operation} skipped: {Error}")]
    private static partial void LogDegraded(ILogger logger, string operation, string error);
}
