using AgentLocator.Data.Calls;

namespace AgentLocator.Api.Webhooks;

/// <summary>
/// A webhook request's Twilio idempotency token (<see cref="TwilioWebhookFilter"/>), as a request feature. A retry of a
/// request already answered gets the first answer again (<see cref="RecallAsync"/>); a handler that writes to Redis anyway
/// takes its answer along in that round trip (<see cref="Hand"/>), and the filter then does not remember it again.
/// </summary>
public sealed class WebhookIdempotency(string key)
{
    public string Key { get; } = key;

    /// <summary>The answer went out with the handler's own Redis batch.</summary>
    public bool Handed { get; private set; }

    /// <summary>The request was answered with the answer remembered for its token.</summary>
    public bool Replayed { get; private set; }

    /// <summary>The request's idempotency feature, or null when Twilio sent no token.</summary>
    public static WebhookIdempotency? Of(HttpContext http) => http.Features.Get<WebhookIdempotency>();

    /// <summary>The answer remembered for this token, or null when there is none (or Redis is down).</summary>
    public async Task<IResult?> RecallAsync(ICallSessions sessions, CancellationToken cancellationToken)
    {
        var replay = await sessions.RecallResponseAsync(Key, cancellationToken) is { } remembered ? WebhookReplay.TryParse(remembered) : null;
        Replayed = replay is not null;
        return replay;
    }

    /// <summary>What to remember for <paramref name="result"/>, marked as handed; null when it is not an answer kept for retries.</summary>
    public RememberedAnswer? Hand(object? result)
    {
        if (WebhookReplay.Capture(result) is not { } captured)
        {
            return null;
        }
        Handed = true;
        return new RememberedAnswer(Key, captured, TwilioWebhookFilter.IdempotencyTtl);
    }

    /// <summary>
    /// Endpoint metadata: the handler recalls a retry's answer itself, only when its own write shows the request is a
    /// retry (a row already there), instead of the filter asking Redis before every request.
    /// </summary>
    public sealed class RecalledByHandler;
}
