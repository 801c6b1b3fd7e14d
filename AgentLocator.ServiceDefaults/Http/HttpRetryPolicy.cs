using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace AgentLocator.ServiceDefaults.Http;

/// <summary>
/// What the standard resilience handler retries, for every HttpClient:
/// <list type="bullet">
/// <item>429 Too Many Requests, for every method: the server refused the request without processing it
/// (Twilio documents 429/20429 as never processed); the handler honours <c>Retry-After</c>.</item>
/// <item>Connection failures (nothing reached the server: connection refused, DNS), for every method.</item>
/// <item>Other transient failures (408, 5xx, transport errors, attempt timeouts) only when repeating the
/// request is harmless: an idempotent method, or a request marked with <see cref="RetryNonIdempotent"/>
/// (a Twilio call redirect). A POST that failed this way may already have been processed (a WhatsApp
/// message sent); its job retries it with its own idempotency instead.</item>
/// </list>
/// </summary>
public static class HttpRetryPolicy
{
    /// <summary>
    /// Set to <see langword="true"/> on a POST/PATCH that is safe to repeat after a server error or timeout.
    /// Other assemblies create the same key from its name without referencing this one.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> RetryNonIdempotent = new("AgentLocator.Http.RetryNonIdempotent");

    /// <summary>Applies the policy to the standard handler's retry strategy.</summary>
    public static void Apply(HttpStandardResilienceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Retry.ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context));
    }

    internal static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests)
        {
            return true;
        }

        if (outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
        {
            return true;
        }

        var request = outcome.Result?.RequestMessage ?? context.GetRequestMessage();
        return request is not null && IsSafeToRepeat(request) && HttpClientResiliencePredicates.IsTransient(outcome);
    }

    private static bool IsSafeToRepeat(HttpRequestMessage request) =>
        request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options
        || request.Method == HttpMethod.Trace || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete
        || (request.Options.TryGetValue(RetryNonIdempotent, out var optIn) && optIn);
}
