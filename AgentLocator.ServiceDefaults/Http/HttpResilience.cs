using System.Net;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AgentLocator.ServiceDefaults.Http;

/// <summary>
/// Builds the Polly pipeline behind <see cref="ResilienceHandler"/>: total timeout → retry → per-attempt timeout.
/// </summary>
/// <remarks>
/// What is retried, and why:
/// <list type="bullet">
/// <item>429 Too Many Requests, for every method: the server refused the request without processing it
/// (Twilio documents 429/20429 as never processed), honouring <c>Retry-After</c>.</item>
/// <item>Connection failures (nothing reached the server: connection refused, DNS), for every method.</item>
/// <item>408, 5xx (except 501/505), other transport errors and per-attempt timeouts: only for idempotent
/// methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE). A POST that failed this way may already have been
/// processed (a WhatsApp message sent, a lead created); retrying it blindly could do it twice. The caller's
/// job system retries such work with its own idempotency, or the request opts in with
/// <see cref="RetryNonIdempotentOption"/> when repeating it is harmless (e.g. redirecting a call).</item>
/// </list>
/// Requests whose content cannot be sent twice (<see cref="StreamContent"/>) get a single attempt.
/// </remarks>
public static partial class HttpResilience
{
    /// <summary>
    /// The name of a <see cref="HttpRequestOptionsKey{TValue}"/> of <see cref="bool"/>; set it to
    /// <see langword="true"/> on a POST/PATCH that is safe to repeat after a server error or timeout.
    /// Other assemblies can create the same key from this name without referencing this one.
    /// </summary>
    public const string RetryNonIdempotentOptionName = "AgentLocator.Http.RetryNonIdempotent";

    /// <summary>The request option that opts a non-idempotent request into retries on 5xx/timeouts.</summary>
    public static readonly HttpRequestOptionsKey<bool> RetryNonIdempotentOption = new(RetryNonIdempotentOptionName);

    internal static readonly ResiliencePropertyKey<HttpRequestMessage> RequestKey = new("AgentLocator.Http.Request");
    internal static readonly ResiliencePropertyKey<bool> CanResendKey = new("AgentLocator.Http.CanResend");

    /// <summary>Creates the pipeline for <paramref name="options"/>.</summary>
    public static ResiliencePipeline<HttpResponseMessage> CreatePipeline(HttpResilienceOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);

        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }
            .AddTimeout(new TimeoutStrategyOptions { Name = "total", Timeout = options.TotalTimeout });

        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "retry",
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context, options, timeProvider)),
                DelayGenerator = args => ValueTask.FromResult(GetRetryAfter(args.Outcome.Result, timeProvider)),
                OnRetry = args =>
                {
                    var request = args.Context.Properties.GetValue(RequestKey, null!);
                    LogRetry(
                        logger,
                        request?.Method.Method ?? "?",
                        request?.RequestUri?.GetLeftPart(UriPartial.Path) ?? "?",
                        args.AttemptNumber + 1,
                        (int?)args.Outcome.Result?.StatusCode,
                        args.Outcome.Exception?.GetType().Name,
                        args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder
            .AddTimeout(new TimeoutStrategyOptions { Name = "attempt", Timeout = options.AttemptTimeout })
            .Build();
    }

    /// <summary>The wait a response asks for (<c>Retry-After</c> as seconds or an HTTP date), if any.</summary>
    public static TimeSpan? GetRetryAfter(HttpResponseMessage? response, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        var retryAfter = response?.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    internal static bool IsIdempotent(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options
        || method == HttpMethod.Trace || method == HttpMethod.Put || method == HttpMethod.Delete;

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context, HttpResilienceOptions options, TimeProvider timeProvider)
    {
        if (!context.Properties.GetValue(CanResendKey, false) || !context.Properties.TryGetValue(RequestKey, out var request))
        {
            return false;
        }

        var repeatable = IsIdempotent(request.Method)
            || (request.Options.TryGetValue(RetryNonIdempotentOption, out var optIn) && optIn);

        if (outcome.Exception is { } exception)
        {
            return exception switch
            {
                // Nothing reached the server, so any method is safe to send again.
                HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => true,
                HttpRequestException => repeatable,
                TimeoutRejectedException => repeatable,
                _ => false, // the caller cancelled, or a bug: do not retry
            };
        }

        var response = outcome.Result!;
        var status = response.StatusCode;
        var retryAfter = GetRetryAfter(response, timeProvider);
        if (retryAfter > options.MaxRetryAfter)
        {
            return false;
        }

        return status switch
        {
            HttpStatusCode.TooManyRequests => true,
            HttpStatusCode.RequestTimeout => repeatable,
            HttpStatusCode.NotImplemented or HttpStatusCode.HttpVersionNotSupported => false,
            >= HttpStatusCode.InternalServerError => repeatable,
            _ => false,
        };
    }

    [LoggerMessage(EventId = 3101, EventName = "HTTP_RETRY", Level = LogLevel.Warning,
        Message = "Retrying {Method} {Url} (attempt {Attempt}) after status {StatusCode} / {ExceptionType} in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, string method, string url, int attempt, int? statusCode, string? exceptionType, double delayMs);
}
