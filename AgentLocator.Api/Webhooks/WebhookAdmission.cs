using System.Threading.RateLimiting;
using AgentLocator.Api.Voice;
using AgentLocator.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.Webhooks;

/// <summary>
/// How many voice webhooks do their database work at once, and what happens past that: a
/// <see cref="ConcurrencyLimiter"/> (System.Threading.RateLimiting) with <c>Voice:MaxConcurrentWebhooks</c> slots and a
/// bounded first-come queue of <c>Voice:MaxQueuedWebhooks</c>, and a wait budget (<c>Voice:MaxWebhookWait</c>) on top.
/// A webhook that finds the queue full, or that would wait longer than the budget, is shed: its handler answers at once
/// the way it does when Postgres is down (the caller still gets the greeting and the stream, a status callback still gets
/// its 204) and its writes go to <see cref="DeferredWrites"/>. Above the ceiling Twilio then gets every answer within the
/// budget, instead of every request queueing until Twilio's 15 s are up and the caller hears an application error.
/// Sheds are counted (<c>agentlocator.webhooks.shed</c>), alerted past <c>Alerts:Threshold</c>, and logged at most once
/// per <see cref="LogInterval"/> (one line for all the sheds since the last one, not one per request).
/// </summary>
/// <remarks>
/// Not the rate limiting middleware: it rejects before the endpoint filters run, so a shed request's signature would not be
/// checked and its form not read, and it has no wait budget. The limiter is the same package, used here in the filter.
/// <c>/readyz</c> does not report shedding: it changes from one request to the next (a probe would flap), and taking an
/// overloaded replica out of the ingress only moves its calls onto the others, or onto nothing.
/// </remarks>
public sealed partial class WebhookAdmission : IDisposable
{
    public const string QueueFull = "queue_full";
    public const string WaitedTooLong = "wait";

    /// <summary>Set on every shed answer, naming the reason: load tests and operators tell shed answers from full ones.</summary>
    public const string ShedHeader = "X-AgentLocator-Shed";

    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrencyLimiter _limiter;
    private readonly TimeSpan _maxWait;
    private readonly ServiceTelemetry _telemetry;
    private readonly TimeProvider _clock;
    private readonly ILogger<WebhookAdmission> _logger;
    private long _shedSinceLog;
    private long _lastLog;

    public WebhookAdmission(IOptions<VoiceOptions> options, ServiceTelemetry telemetry, TimeProvider clock, ILogger<WebhookAdmission> logger)
    {
        var voice = options.Value;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = voice.MaxConcurrentWebhooks,
            QueueLimit = voice.MaxQueuedWebhooks,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _maxWait = voice.MaxWebhookWait;
        _telemetry = telemetry;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Slots free and webhooks waiting for one, now.</summary>
    public RateLimiterStatistics? Statistics => _limiter.GetStatistics();

    /// <summary>Whether this request was shed: its handler answers without the database and defers its writes.</summary>
    public static bool WasShed(HttpContext http) => http.Features.Get<ShedWebhook>() is not null;

    /// <summary>
    /// A slot for <paramref name="webhook"/>, at once or within the wait budget; <c>null</c> when it is shed (counted,
    /// logged, and marked on the request for its handler). Cancels only when the request is aborted.
    /// </summary>
    public async ValueTask<RateLimitLease?> EnterAsync(HttpContext http, string webhook, CancellationToken requestAborted)
    {
        var lease = _limiter.AttemptAcquire();
        if (!lease.IsAcquired && _maxWait > TimeSpan.Zero)
        {
            lease.Dispose();
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
            budget.CancelAfter(_maxWait);
            try
            {
                lease = await _limiter.AcquireAsync(1, budget.Token);
            }
            catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
            {
                Shed(http, webhook, WaitedTooLong);
                return null;
            }
        }
        if (lease.IsAcquired)
        {
            return lease;
        }
        lease.Dispose();
        Shed(http, webhook, QueueFull);
        return null;
    }

    private void Shed(HttpContext http, string webhook, string reason)
    {
        http.Features.Set(new ShedWebhook(reason));
        http.Response.Headers[ShedHeader] = reason;
        _telemetry.WebhookShed(webhook, reason);
        var shed = Interlocked.Increment(ref _shedSinceLog);
        var now = _clock.GetTimestamp();
        var last = Interlocked.Read(ref _lastLog);
        if ((last == 0 || _clock.GetElapsedTime(last, now) >= LogInterval) && Interlocked.CompareExchange(ref _lastLog, now, last) == last)
        {
            shed = Interlocked.Exchange(ref _shedSinceLog, 0);
            var statistics = _limiter.GetStatistics();
            LogShed(_logger, shed, webhook, reason, statistics?.CurrentQueuedCount ?? 0, (int)LogInterval.TotalSeconds);
        }
    }

    public void Dispose() => _limiter.Dispose();

    private sealed record ShedWebhook(string Reason);

    [LoggerMessage(EventId = 3004, EventName = "WEBHOOK_SHED", Level = LogLevel.Warning,
        Message = "WEBHOOK_SHED {Count} webhooks answered at once past capacity (latest {Webhook}, {Reason}; {Queued} waiting); their writes are deferred. At most one line per {Seconds} s")]
    private static partial void LogShed(ILogger logger, long count, string webhook, string reason, long queued, int seconds);
}
