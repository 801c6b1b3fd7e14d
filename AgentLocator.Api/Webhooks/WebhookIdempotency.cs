using AgentLocator.Data.Calls;

namespace AgentLocator.Api.Webhooks;

/// <summary>
/// A webhook request's Twilio idempotency token (<see cref="TwilioWebhookFilter"/>), as a request feature: a handler that
/// writes to Redis anyway can take its answer along in that round trip (<see cref="Hand"/>), and the filter then does not
/// remember it again.
/// </summary>
public sealed class WebhookIdempotency(string key)
{
    public string Key { get; } = key;

    /// <summary>The answer went out with the handler's own Redis batch.</summary>
    public bool Handed { get; private set; }

    /// <summary>The request's idempotency feature, or null when Twilio sent no token.</summary>
    public static WebhookIdempotency? Of(HttpContext http) => http.Features.Get<WebhookIdempotency>();

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
}
