using AgentLocator.Data.Calls;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Twilio;
using AgentLocator.Twilio.Security;
using AgentLocator.Twilio.Twiml;
using Twilio.TwiML;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.Webhooks;

/// <summary>
/// What every Twilio webhook gets: no-cache headers on whatever it answers, a form body
/// (400 otherwise), and — when <c>Twilio:ValidateSignatures</c> is on, the default outside
/// Development — a valid <c>X-Twilio-Signature</c> over the public URL, or 403 before any
/// handler runs, so nothing is written.
/// </summary>
public sealed partial class TwilioWebhookFilter(
    IOptions<TwilioOptions> twilio,
    IOptions<PublicUrlOptions> publicUrl,
    IHostEnvironment environment,
    ICallSessions sessions,
    IServiceProvider services,
    ServiceTelemetry telemetry,
    ILogger<TwilioWebhookFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        http.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.CacheControl = TwimlResult.NoCache;
            headers.Pragma = "no-cache";
            return Task.CompletedTask;
        }, http.Response);

        if (!http.Request.HasFormContentType)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Expected a form body",
                detail: "Twilio webhooks are application/x-www-form-urlencoded POSTs.");
        }
        try
        {
            // Buffered, so the signature check can read the fields exactly as sent.
            http.Request.EnableBuffering();
            await http.Request.ReadFormAsync(http.RequestAborted);
        }
        catch (InvalidDataException ex)
        {
            // Too many fields, a value over the form limits, or a malformed body.
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed form body", detail: ex.Message);
        }

        if (twilio.Value.ShouldValidateSignatures(environment))
        {
            var signature = http.Request.Headers[TwilioSignatureValidator.SignatureHeader].ToString();
            var validator = services.GetRequiredService<TwilioSignatureValidator>();
            if (string.IsNullOrEmpty(signature) || !await validator.ValidateAsync(http.Request, publicUrl.Value.PublicBaseUrl, http.RequestAborted))
            {
                var reason = string.IsNullOrEmpty(signature) ? "missing" : "invalid";
                LogForbidden(logger, http.Request.Path, reason);
                telemetry.SignatureRejected(reason);
                return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Invalid Twilio signature",
                    detail: $"The {TwilioSignatureValidator.SignatureHeader} header does not sign this request for {publicUrl.Value.PublicBaseUrl}.");
            }
        }
        try
        {
            var idempotency = IdempotencyKey(http);
            if (idempotency is null)
            {
                return await next(context);
            }
            // A retry of a request already answered gets the same answer, and nothing runs twice.
            var feature = new WebhookIdempotency(idempotency);
            http.Features.Set(feature);
            var result = http.GetEndpoint()?.Metadata.GetMetadata<WebhookIdempotency.RecalledByHandler>() is null
                         && await feature.RecallAsync(sessions, http.RequestAborted) is { } replay
                ? replay
                : await next(context);
            if (feature.Replayed)
            {
                LogReplayed(logger, http.Request.Path);
                return result;
            }
            if (!feature.Handed && WebhookReplay.Capture(result) is { } captured)
            {
                await sessions.RememberResponseAsync(idempotency, captured, IdempotencyTtl, http.RequestAborted);
            }
            return result;
        }
        catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested)
        {
            // Last line of defence: Twilio never gets a 500, the caller never hears an error.
            LogUnexpected(logger, http.Request.Path, ex);
            telemetry.WebhookError("unexpected", "webhooks failing unexpectedly");
            var twiml = services.GetRequiredService<Voice.VoiceTwiml>();
            var path = http.Request.Path.Value ?? "";
            return path.EndsWith("/incoming_call", StringComparison.Ordinal) || path.EndsWith("/stream_ended", StringComparison.Ordinal)
                ? twiml.Voicemail(120).ToResult()
                : path.EndsWith("/handle_recording", StringComparison.Ordinal)
                    ? twiml.ThankYou().ToResult()
                    : path.StartsWith("/whatsapp/webhook", StringComparison.Ordinal)
                        ? new MessagingResponse().ToResult()
                        : TypedResults.NoContent();
        }
    }

    public const string IdempotencyHeader = "I-Twilio-Idempotency-Token";

    /// <summary>Twilio retries within seconds; an hour covers any retry policy.</summary>
    public static readonly TimeSpan IdempotencyTtl = TimeSpan.FromHours(1);

    private static string? IdempotencyKey(HttpContext http)
    {
        var token = http.Request.Headers[IdempotencyHeader].ToString();
        return token.Length is > 0 and <= 200 ? http.Request.Path.Value + ":" + token : null;
    }

    [LoggerMessage(EventId = 3003, EventName = "WEBHOOK_REPLAYED", Level = LogLevel.Information,
        Message = "WEBHOOK_REPLAYED {Path}: a retry with a known idempotency token got the first answer again")]
    private static partial void LogReplayed(ILogger logger, string path);

    [LoggerMessage(EventId = 3002, EventName = "WEBHOOK_ERROR", Level = LogLevel.Error,
        Message = "WEBHOOK_ERROR {Path} failed unexpectedly; answered the safe fallback")]
    private static partial void LogUnexpected(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3001, EventName = "WEBHOOK_FORBIDDEN", Level = LogLevel.Warning,
        Message = "WEBHOOK_FORBIDDEN {Path}: {Reason} signature; nothing was processed")]
    private static partial void LogForbidden(ILogger logger, string path, string reason);
}
