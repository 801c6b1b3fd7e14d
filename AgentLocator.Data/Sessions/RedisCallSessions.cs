using System.Diagnostics.Metrics;
using System.Text.Json;
using AgentLocator.Data.Calls;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AgentLocator.Data.Sessions;

/// <summary>
/// Live call state in Redis through StackExchange.Redis, shared by every replica: the session
/// (<c>call:{CallSid}</c>, JSON, with a TTL), the stream-start watchdog (sorted set
/// <see cref="WatchdogKey"/>, scored by deadline), idempotency keys, and live events (channel
/// <see cref="EventsChannel"/>). Redis being down never throws to a caller and never holds one up
/// longer than <see cref="OperationTimeout"/>: each miss is logged, counted as degraded
/// (<c>agentlocator.redis.degraded</c>) and reported as false / null / empty, and the multiplexer
/// reconnects by itself.
/// </summary>
public sealed partial class RedisCallSessions(IConnectionMultiplexer redis, ILogger<RedisCallSessions> logger, IMeterFactory meters) : ICallSessions
{
    public const string WatchdogKey = "agentlocator:watchdog:stream-start";
    public const string EventsChannel = "agentlocator:call-events";

    /// <summary>
    /// A Redis call never holds up a webhook longer than this. The multiplexer's async commands take no
    /// CancellationToken, so each is bounded here (<see cref="Task.WaitAsync(TimeSpan, CancellationToken)"/>).
    /// </summary>
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(500);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly RedisChannel Events = RedisChannel.Literal(EventsChannel);

    private readonly Counter<long> _degraded = meters.Create("AgentLocator.Sessions").CreateCounter<long>(
        "agentlocator.redis.degraded", description: "Operations skipped because Redis was unreachable");

    public static string SessionKey(string callSid) => "agentlocator:call:" + callSid;

    public static string IdempotencyKey(string key) => "agentlocator:idem:" + key;

    public Task<bool> SaveAsync(CallSession session, TimeSpan ttl, CancellationToken cancellationToken) =>
        RunAsync("save_session", db => db.StringSetAsync(SessionKey(session.CallSid), JsonSerializer.Serialize(session, Json), ttl), false, cancellationToken);

    public Task<CallSession?> GetAsync(string callSid, CancellationToken cancellationToken) =>
        RunAsync<CallSession?>("get_session", async db =>
        {
            var json = await db.StringGetAsync(SessionKey(callSid));
            return json.IsNull ? null : JsonSerializer.Deserialize<CallSession>(json.ToString(), Json);
        }, null, cancellationToken);

    public Task<bool> StartCallAsync(CallSession session, TimeSpan ttl, DateTimeOffset watchdogDeadline, CallEvent started,
        CancellationToken cancellationToken) =>
        StartCallAsync(session, ttl, watchdogDeadline, started, answer: null, cancellationToken);

    /// <summary>
    /// The session, the watchdog, the event and the webhook's answer as one batch: written to Redis together and
    /// answered together, so the webhook waits on one round trip (one bounded wait) instead of four.
    /// </summary>
    public Task<bool> StartCallAsync(CallSession session, TimeSpan ttl, DateTimeOffset watchdogDeadline, CallEvent started,
        RememberedAnswer? answer, CancellationToken cancellationToken) =>
        RunAsync("start_call", async db =>
        {
            var batch = db.CreateBatch();
            var saved = batch.StringSetAsync(SessionKey(session.CallSid), JsonSerializer.Serialize(session, Json), ttl);
            // False from ZADD means the deadline of an armed watchdog moved: armed either way.
            var armed = batch.SortedSetAddAsync(WatchdogKey, session.CallSid, watchdogDeadline.ToUnixTimeMilliseconds());
            var published = batch.PublishAsync(Events, JsonSerializer.Serialize(started, Json));
            var remembered = answer is null ? Task.FromResult(true) : batch.StringSetAsync(IdempotencyKey(answer.Key), answer.Response, answer.Ttl);
            batch.Execute();
            await Task.WhenAll(saved, armed, published, remembered);
            return await saved && await remembered;
        }, false, cancellationToken);

    public Task<bool> ArmWatchdogAsync(string callSid, DateTimeOffset deadline, CancellationToken cancellationToken) =>
        RunAsync("arm_watchdog", async db =>
        {
            // False from ZADD means the deadline of an armed watchdog moved: armed either way.
            await db.SortedSetAddAsync(WatchdogKey, callSid, deadline.ToUnixTimeMilliseconds());
            return true;
        }, false, cancellationToken);

    public Task<bool> DisarmWatchdogAsync(string callSid, CancellationToken cancellationToken) =>
        RunAsync("disarm_watchdog", db => db.SortedSetRemoveAsync(WatchdogKey, callSid), false, cancellationToken);

    public Task<IReadOnlyList<string>> DueWatchdogsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<string>>("due_watchdogs", async db =>
        {
            var due = await db.SortedSetRangeByScoreAsync(WatchdogKey, double.NegativeInfinity, now.ToUnixTimeMilliseconds(), take: limit);
            return Array.ConvertAll(due, member => member.ToString());
        }, [], cancellationToken);

    /// <summary>ZREM is atomic: of all the replicas that saw the watchdog due, exactly one removes it.</summary>
    public Task<bool> ClaimWatchdogAsync(string callSid, CancellationToken cancellationToken) =>
        RunAsync("claim_watchdog", db => db.SortedSetRemoveAsync(WatchdogKey, callSid), false, cancellationToken);

    public Task<bool> PublishAsync(CallEvent callEvent, CancellationToken cancellationToken) =>
        RunAsync("publish_event", async _ =>
        {
            await redis.GetSubscriber().PublishAsync(Events, JsonSerializer.Serialize(callEvent, Json));
            return true;
        }, false, cancellationToken);

    public Task<bool> RememberResponseAsync(string key, string response, TimeSpan ttl, CancellationToken cancellationToken) =>
        RunAsync("remember_response", db => db.StringSetAsync(IdempotencyKey(key), response, ttl), false, cancellationToken);

    public Task<string?> RecallResponseAsync(string key, CancellationToken cancellationToken) =>
        RunAsync<string?>("recall_response", async db => (string?)await db.StringGetAsync(IdempotencyKey(key)), null, cancellationToken);

    private async Task<T> RunAsync<T>(string operation, Func<IDatabase, Task<T>> command, T whenDown, CancellationToken cancellationToken)
    {
        Task<T>? pending = null;
        try
        {
            pending = command(redis.GetDatabase());
            return await pending.WaitAsync(OperationTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Degraded(operation, ex);
            return whenDown;
        }
        finally
        {
            // A command given up on still completes (or times out) inside the multiplexer: observe its outcome.
            if (pending is { IsCompleted: false })
            {
                _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private void Degraded(string operation, Exception exception)
    {
        _degraded.Add(1, new KeyValuePair<string, object?>("operation", operation));
        LogDegraded(logger, operation, exception.Message);
    }

    [LoggerMessage(EventId = 5001, EventName = "REDIS_DEGRADED", Level = LogLevel.Warning,
        Message = "REDIS_DEGRADED {Operation} skipped: {Error}")]
    private static partial void LogDegraded(ILogger logger, string operation, string error);
}
