using System.Collections.Concurrent;
using System.Text.Json;
using StackExchange.Redis;

namespace AgentLocator.Web.Live;

/// <summary>A call in progress as the Live page shows it.</summary>
public sealed record LiveCall(string CallSid, Guid BusinessId, Guid CallId, DateTimeOffset StartedAt, string State, DateTimeOffset UpdatedAt)
{
    /// <summary>A call the Api lists as in progress, in the state its row shows.</summary>
    public static LiveCall FromApi(AgentLocator.Web.Api.CallDto call, DateTimeOffset now) => new(call.CallSid, call.BusinessId, call.Id, call.StartedAt,
        call.FallbackUsed ? "fallback" : call.StreamStarted ? "stream_started" : "ringing", now);
}

/// <summary>
/// Calls in progress, from the live call events the Api and MediaWorker publish on Redis (<c>agentlocator:call-events</c>):
/// <c>call_started</c> names the business, later events move the call's state, <c>ended</c> removes it. Calls that began
/// before this process heard of them (it started later, or missed the event) come from the Api's in-progress list through
/// <see cref="Seed"/>, and events move them on from there. Pages subscribe to <see cref="Changed"/>. Losing Redis loses
/// only this live view, never a call (DESIGN.md).
/// </summary>
public sealed partial class LiveCalls(IConnectionMultiplexer redis, TimeProvider clock, ILogger<LiveCalls> logger) : IHostedService
{
    public const string EventsChannel = "agentlocator:call-events";

    /// <summary>A call heard of but never ended (a lost event) leaves the view after this long.</summary>
    public static readonly TimeSpan Forget = TimeSpan.FromHours(2);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ConcurrentDictionary<string, LiveCall> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _ended = new(StringComparer.Ordinal);
    private ChannelMessageQueue? _queue;

    public event Action<Guid>? Changed;

    public IReadOnlyList<LiveCall> For(Guid businessId)
    {
        var cutoff = clock.GetUtcNow() - Forget;
        return _calls.Values.Where(c => c.BusinessId == businessId && c.UpdatedAt > cutoff).OrderBy(c => c.StartedAt).ToList();
    }

    /// <summary>
    /// Adds the calls the Api lists as in progress that this view does not know yet; one whose <c>ended</c> event already
    /// came (the list was read just before it ended) stays out.
    /// </summary>
    public void Seed(IEnumerable<LiveCall> inProgress)
    {
        foreach (var call in inProgress)
        {
            if (!_ended.ContainsKey(call.CallSid))
            {
                _calls.TryAdd(call.CallSid, call);
            }
        }
    }

    /// <summary>
    /// Drops what is older than <see cref="Forget"/>: ended calls (kept only to keep <see cref="Seed"/> from bringing them
    /// back) and calls whose events stopped (their <c>ended</c> was missed), so neither grows with every call the web app
    /// hears of.
    /// </summary>
    private void ForgetOld()
    {
        var cutoff = clock.GetUtcNow() - Forget;
        foreach (var (sid, endedAt) in _ended)
        {
            if (endedAt < cutoff)
            {
                _ended.TryRemove(sid, out _);
            }
        }
        foreach (var (sid, call) in _calls)
        {
            if (call.UpdatedAt < cutoff)
            {
                _calls.TryRemove(sid, out _);
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(EventsChannel));
        _queue.OnMessage(message => Apply(message.Message.ToString()));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_queue is not null)
        {
            await _queue.UnsubscribeAsync();
        }
    }

    internal void Apply(string json)
    {
        LiveEvent? e;
        try
        {
            e = JsonSerializer.Deserialize<LiveEvent>(json, Json);
        }
        catch (JsonException ex)
        {
            LogBadEvent(logger, ex.Message);
            return;
        }
        if (e is null || string.IsNullOrEmpty(e.CallSid))
        {
            return;
        }
        LiveCall? changed = null;
        if (e.Type == "call_started" && e.Data is { } data
            && Guid.TryParse(data.GetValueOrDefault("businessId"), out var businessId) && Guid.TryParse(data.GetValueOrDefault("callId"), out var callId))
        {
            changed = _calls[e.CallSid] = new LiveCall(e.CallSid, businessId, callId, e.At, "ringing", e.At);
        }
        else if (e.Type == "ended")
        {
            _ended[e.CallSid] = e.At;
            _calls.TryRemove(e.CallSid, out changed);
            ForgetOld();
        }
        else if (_calls.TryGetValue(e.CallSid, out var call))
        {
            changed = _calls[e.CallSid] = call with { State = e.Type, UpdatedAt = e.At };
        }
        if (changed is not null)
        {
            Changed?.Invoke(changed.BusinessId);
        }
    }

    private sealed record LiveEvent(string Type, string CallSid, DateTimeOffset At, Dictionary<string, string>? Data);

    [LoggerMessage(EventId = 7201, EventName = "WEB_LIVE_EVENT_UNREADABLE", Level = LogLevel.Warning,
        Message = "WEB_LIVE_EVENT_UNREADABLE a live call event was not JSON: {Error}")]
    private static partial void LogBadEvent(ILogger logger, string error);
}
