using System.Diagnostics;
using AgentLocator.Api.Webhooks;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Model;
using AgentLocator.Data.Phones;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Twilio.Twiml;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.Voice;

/// <summary>
/// The voice webhooks Twilio calls, at the paths the replaced system used. Each answers valid
/// TwiML (or 204) fast whatever else is down: Postgres gets a bounded budget, and what could
/// not be written is logged in full and written later. Past the Api's capacity a webhook is shed
/// (<see cref="WebhookAdmission"/>): it gives the answer it gives without Postgres, at once, and
/// defers its writes.
/// </summary>
public static partial class VoiceWebhooksApi
{
    public static IEndpointRouteBuilder MapVoiceWebhooks(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/webhook").WithTags("Twilio voice webhooks")
            .AddEndpointFilter<TwilioWebhookFilter>()
            .AddEndpointFilter<WebhookAdmissionFilter>()
            .DisableAntiforgery();
        group.MapPost("/incoming_call", IncomingCallAsync).WithMetadata(new WebhookIdempotency.RecalledByHandler());
        group.MapPost("/stream_status", StreamStatusAsync);
        group.MapPost("/call_status", CallStatusAsync);
        group.MapPost("/stream_ended", StreamEndedAsync);
        group.MapPost("/handle_recording", HandleRecordingAsync);
        group.MapPost("/recording_status", RecordingStatusAsync);
        return endpoints;
    }

    public static async Task<Results<TwimlResult, ProblemHttpResult>> IncomingCallAsync(
        HttpRequest request, IncomingCallWriter writer, BusinessDirectory directory, VoiceTwiml twiml, CallToken tokens,
        ICallSessions sessions, DeferredWrites deferred, IOptions<VoiceOptions> options, TimeProvider clock, ServiceTelemetry telemetry, ILogger<VoiceWebhookLog> logger,
        CancellationToken cancellationToken)
    {
        var form = request.Form;
        if (!TryCallSid(form, out var callSid, out var problem))
        {
            return problem;
        }
        var from = form.Field("From") ?? "anonymous";
        var to = form.Field("To") ?? "";
        using var budget = DatabaseFailures.Budget(options.Value.DatabaseBudget, cancellationToken);

        // Shed under load: the caller is served all the same (greeting and live conversation, as when Postgres is down,
        // rather than voicemail: the business would get a message instead of a lead, and the recording needs the call row
        // written later just as much); the number's business comes from the cache, the call row is written behind.
        var shed = WebhookAdmission.WasShed(request.HttpContext);
        var answer = shed ? directory.FromCache(to) : await directory.FindAsync(to, request.HttpContext.RequestServices, budget.Token, cancellationToken);
        var idempotency = WebhookIdempotency.Of(request.HttpContext);
        if ((answer.Route is null && !answer.DatabaseFailed) || answer.Route is { Active: false })
        {
            // No call row tells a retry here: a rare answer, so its first answer is looked up.
            if (idempotency is not null && await idempotency.RecallAsync(sessions, cancellationToken) is TwimlResult notInService)
            {
                return notInService;
            }
            LogNotInService(logger, callSid, PhoneNumbers.Redact(to));
            telemetry.CallStarted("not_in_service");
            return twiml.NotInService().ToResult();
        }

        var businessId = answer.Route?.BusinessId ?? Guid.Empty;
        var incoming = new IncomingCall(callSid, businessId, Guid.CreateVersion7(), from, to, form.Field("Direction") ?? "inbound",
            form.Field("CallStatus") ?? CallStatuses.Ringing, clock.GetUtcNow(), TestTraffic.IsTestCall(callSid), Activity.Current?.Id);
        var callId = incoming.CallId;
        // Twilio's retry of a call already answered gets the first answer again and nothing runs twice. Only a request that
        // may be a retry costs a Redis lookup: before the row is written, one whose first attempt may have answered without
        // writing it (shed, Postgres down, or its row still waiting here to be written); after, one whose row was already
        // there. (A first attempt answered without its row on another replica and retried here once Postgres is back, before
        // that replica writes the row, runs again; Twilio, which retried, uses this answer.)
        var lookedUp = shed || answer.DatabaseFailed || deferred.HasPending(callSid);
        if (lookedUp && idempotency is not null && await idempotency.RecallAsync(sessions, cancellationToken) is TwimlResult earlier)
        {
            return earlier;
        }
        RecordedCall? recorded = null;
        if (!shed && !answer.DatabaseFailed)
        {
            try
            {
                // Written with the other webhooks' calls of the moment, in one round trip.
                recorded = await writer.RecordAsync(incoming, budget.Token);
                callId = recorded.CallId;
            }
            catch (Exception ex) when (DatabaseFailures.IsTransient(ex, cancellationToken))
            {
                answer = answer with { DatabaseFailed = true };
            }
        }
        if (!lookedUp && recorded is not { Created: true } && idempotency is not null
            && await idempotency.RecallAsync(sessions, cancellationToken) is TwimlResult replay)
        {
            return replay;
        }
        if (shed)
        {
            // No line per call (the shed is logged once per interval); what rebuilds the call travels with the write.
            deferred.AddShed(callSid, () => $"call {incoming.CallSid} (shed; CallId={incoming.CallId} BusinessId={incoming.BusinessId} " +
                    $"From={PhoneNumbers.Redact(incoming.From)} To={PhoneNumbers.Redact(incoming.To)} StartedAt={incoming.StartedAt:O})",
                (services, ct) => RecordLaterAsync(services, incoming, ct));
        }
        else if (answer.DatabaseFailed)
        {
            // Answer anyway; the call row is written when Postgres is back.
            LogCallNotRecorded(logger, "incoming_call", callSid, incoming.CallId, businessId, PhoneNumbers.Redact(from), PhoneNumbers.Redact(to), incoming.StartedAt);
            deferred.Add(callSid, $"call {callSid}", (services, ct) => RecordLaterAsync(services, incoming, ct));
        }
        var token = tokens.Create(callSid, callId, businessId);
        // The webhook's span is the call's trace: the MediaWorker's session continues it from the <Stream>'s parameters.
        var result = twiml.GreetingAndStream(callSid, callId, businessId, token, Activity.Current?.Context ?? default).ToResult();
        await ShareLiveCallAsync(sessions, new CallSession(callSid, callId, businessId, null, from, to, token, twiml.GreetingDuration, incoming.StartedAt),
            idempotency?.Hand(result), options.Value, cancellationToken);
        LogIncomingCall(logger, callSid, businessId, PhoneNumbers.Redact(from));
        telemetry.CallStarted("answered");
        return result;
    }

    /// <summary>
    /// Puts the session where any MediaWorker finds it, arms the stream-start watchdog (the greeting's
    /// length plus the grace), announces the call and remembers the webhook's answer for Twilio's retries, in one
    /// round trip. Redis being down skips all four (counted as degraded); the call itself is unaffected.
    /// </summary>
    private static async Task ShareLiveCallAsync(ICallSessions sessions, CallSession session, RememberedAnswer? answer, VoiceOptions options,
        CancellationToken cancellationToken)
    {
        var deadline = session.CreatedAt + session.GreetingDuration + options.StreamStartGrace;
        await sessions.StartCallAsync(session, options.SessionTtl, deadline,
            new CallEvent(CallEvent.CallStarted, session.CallSid, session.CreatedAt,
                new Dictionary<string, string> { ["businessId"] = session.BusinessId.ToString("D"), ["callId"] = session.CallId.ToString("D") }),
            answer, cancellationToken);
    }

    private static async Task RecordLaterAsync(IServiceProvider services, IncomingCall call, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<CallStore>();
        if (call.BusinessId == Guid.Empty)
        {
            var route = await store.FindBusinessByNumberAsync(call.To, cancellationToken);
            if (route is null)
            {
                return;
            }
            call = call with { BusinessId = route.BusinessId };
        }
        // With the live calls' rows: a burst of shed calls drains in batches, not a statement and a commit at a time.
        await services.GetRequiredService<IncomingCallWriter>().RecordAsync(call, cancellationToken);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> StreamStatusAsync(
        HttpRequest request, CallStore store, DeferredWrites deferred, IOptions<VoiceOptions> options, TimeProvider clock,
        ILogger<VoiceWebhookLog> logger, CancellationToken cancellationToken)
    {
        var form = request.Form;
        if (!TryCallSid(form, out var callSid, out var problem))
        {
            return problem;
        }
        var streamEvent = form.Field("StreamEvent");
        var streamSid = form.Field("StreamSid") ?? "";
        var error = form.Field("StreamError");
        var at = clock.GetUtcNow();
        Func<CallStore, CancellationToken, Task<bool>>? write = streamEvent switch
        {
            "stream-started" => (s, ct) => s.RecordStreamStartedAsync(callSid, streamSid, at, ct),
            "stream-stopped" => (s, ct) => s.RecordStreamStoppedAsync(callSid, null, at, ct),
            "stream-error" => (s, ct) => s.RecordStreamStoppedAsync(callSid, error ?? "stream-error", at, ct),
            _ => null,
        };
        if (write is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown StreamEvent",
                detail: "StreamEvent must be stream-started, stream-stopped or stream-error.");
        }
        await WriteOrDeferAsync(request.HttpContext, "stream_status", callSid, store, deferred, options.Value, logger, write, cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> CallStatusAsync(
        HttpRequest request, CallStore store, DeferredWrites deferred, ICallSessions sessions, IOptions<VoiceOptions> options, TimeProvider clock,
        ILogger<VoiceWebhookLog> logger, CancellationToken cancellationToken)
    {
        var form = request.Form;
        if (!TryCallSid(form, out var callSid, out var problem))
        {
            return problem;
        }
        var status = form.Field("CallStatus");
        if (!CallStatuses.IsKnown(status))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown CallStatus",
                detail: "CallStatus must be one of queued, initiated, ringing, in-progress, completed, busy, failed, no-answer, canceled.");
        }
        int? duration = int.TryParse(form.Field("CallDuration"), out var seconds) && seconds >= 0 ? seconds : null;
        var at = clock.GetUtcNow();
        var moved = await WriteOrDeferAsync(request.HttpContext, "call_status", callSid, store, deferred, options.Value, logger,
            (s, ct) => s.ApplyStatusAsync(callSid, status!, duration, at, ct), cancellationToken);
        if (moved && CallStatuses.IsFinal(status))
        {
            await sessions.PublishAsync(new CallEvent(CallEvent.Ended, callSid, at, new Dictionary<string, string> { ["status"] = status! }), cancellationToken);
        }
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The <c>&lt;Connect&gt;</c> action: the stream is over. A conversation that reached its
    /// goodbye hangs up; anything else (the caller pressed *, the stream never started or broke,
    /// or we cannot tell because Postgres is down) goes to voicemail.
    /// </summary>
    public static async Task<Results<TwimlResult, ProblemHttpResult>> StreamEndedAsync(
        HttpRequest request, CallStore store, BusinessDirectory directory, VoiceTwiml twiml, DeferredWrites deferred, ICallSessions sessions,
        IOptions<VoiceOptions> options, TimeProvider clock, ServiceTelemetry telemetry, ILogger<VoiceWebhookLog> logger, CancellationToken cancellationToken)
    {
        var form = request.Form;
        if (!TryCallSid(form, out var callSid, out var problem))
        {
            return problem;
        }
        var callStatus = form.Field("CallStatus");
        using var budget = DatabaseFailures.Budget(options.Value.DatabaseBudget, cancellationToken);
        Call? call = null;
        var maxLength = 120;
        if (WebhookAdmission.WasShed(request.HttpContext))
        {
            // Shed under load: answered as when Postgres is down (voicemail unless the call is over), the recording's
            // length from the cached business of the number dialled.
            maxLength = directory.FromCache(form.Field("To") ?? "").Route?.MaxRecordingSeconds ?? maxLength;
        }
        else
        {
            try
            {
                call = await store.GetCallAsync(callSid, budget.Token);
                if (call is not null && (await directory.FindAsync(call.To, request.HttpContext.RequestServices, budget.Token, cancellationToken)).Route is { } route)
                {
                    maxLength = route.MaxRecordingSeconds;
                }
            }
            catch (Exception ex) when (DatabaseFailures.IsTransient(ex, cancellationToken))
            {
                LogCallNotRecorded(logger, "stream_ended", callSid, Guid.Empty, Guid.Empty, PhoneNumbers.Redact(form.Field("From")), PhoneNumbers.Redact(form.Field("To")), clock.GetUtcNow());
            }
        }

        if (call is { ConversationCompleted: true } || CallStatuses.IsFinal(callStatus))
        {
            return twiml.Goodbye().ToResult();
        }
        var reason = call switch
        {
            { FallbackReason: { } known } => known,
            { StreamStarted: false } => "stream_never_started",
            null => "unknown",
            _ => "stream_broke",
        };
        LogFallback(logger, callSid, reason);
        telemetry.Fallback(reason, callSid);
        using var fallback = StartFallbackSpan(telemetry, call?.TraceParent, callSid, reason);
        var at = clock.GetUtcNow();
        await sessions.PublishAsync(new CallEvent(CallEvent.Fallback, callSid, at, new Dictionary<string, string> { ["reason"] = reason }), cancellationToken);
        await WriteOrDeferAsync(request.HttpContext, "stream_ended", callSid, store, deferred, options.Value, logger,
            (s, ct) => s.RecordFallbackAsync(callSid, reason, at, ct), cancellationToken);
        return twiml.Voicemail(maxLength).ToResult();
    }

    /// <summary>The fallback as a span of the call's trace (when the call row has it), linked to this webhook's own span.</summary>
    private static Activity? StartFallbackSpan(ServiceTelemetry telemetry, string? callTrace, string callSid, string reason)
    {
        var parent = CallTrace.ParentFrom(callTrace);
        ActivityLink[]? links = parent != default && Activity.Current is { } webhook ? [new ActivityLink(webhook.Context)] : null;
        var span = telemetry.ActivitySource.StartActivity(CallTrace.FallbackSpan, ActivityKind.Internal, parent, links: links);
        span?.SetTag(CallTrace.CallSidTag, callSid);
        span?.SetTag("fallback.reason", reason);
        return span;
    }

    /// <summary>The <c>&lt;Record&gt;</c> action: thank the caller and hang up at once; a durable job fetches the recording.</summary>
    public static async Task<Results<TwimlResult, ProblemHttpResult>> HandleRecordingAsync(
        HttpRequest request, CallStore store, VoiceTwiml twiml, DeferredWrites deferred, JobSignal jobs,
        IOptions<VoiceOptions> options, ILogger<VoiceWebhookLog> logger, CancellationToken cancellationToken)
    {
        var result = await EnqueueRecordingAsync(request.HttpContext, "handle_recording", store, deferred, jobs, options.Value, logger, cancellationToken);
        return result is { } problem ? problem : twiml.ThankYou().ToResult();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RecordingStatusAsync(
        HttpRequest request, CallStore store, DeferredWrites deferred, JobSignal jobs,
        IOptions<VoiceOptions> options, ILogger<VoiceWebhookLog> logger, CancellationToken cancellationToken)
    {
        var result = await EnqueueRecordingAsync(request.HttpContext, "recording_status", store, deferred, jobs, options.Value, logger, cancellationToken);
        return result is { } problem ? problem : TypedResults.NoContent();
    }

    private static async Task<ProblemHttpResult?> EnqueueRecordingAsync(HttpContext http, string webhook, CallStore store,
        DeferredWrites deferred, JobSignal jobs, VoiceOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var form = http.Request.Form;
        if (!TryCallSid(form, out var callSid, out var problem))
        {
            return problem;
        }
        var url = form.Field("RecordingUrl");
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("https" or "http"))
        {
            // The caller hung up before anything was recorded: nothing to fetch.
            return webhook == "recording_status"
                ? TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Missing RecordingUrl", detail: "RecordingUrl must be an absolute URL.")
                : null;
        }
        var sid = form.Field("RecordingSid") ?? RecordingJob.SidFromUrl(url) ?? callSid;
        int? duration = int.TryParse(form.Field("RecordingDuration"), out var d) && d >= 0 ? d : null;
        var payload = new RecordingJob.Payload(callSid, url, sid, duration, form.Field("RecordingStatus"));
        var queued = await WriteOrDeferAsync(http, webhook, callSid, store, deferred, options, logger,
            async (s, ct) => await JobQueue.EnqueueOnceAsync(s.Db, RecordingJob.Type, payload, RecordingJob.DedupKey(sid), maxAttempts: 40,
                // The job belongs to the call's trace, not to this webhook's.
                traceParent: await s.TraceParentOfAsync(callSid, ct), cancellationToken: ct),
            cancellationToken);
        if (queued)
        {
            jobs.Notify();
        }
        return null;
    }

    /// <summary>
    /// Runs a write within the database budget; when Postgres is not answering, logs and defers it. A webhook shed under load
    /// defers it without trying: Twilio does not retry a status callback answered 503 (its default retry policy retries a
    /// failed connection only), so answering 204 and writing later is what keeps it.
    /// </summary>
    private static async Task<bool> WriteOrDeferAsync(HttpContext http, string webhook, string callSid, CallStore store, DeferredWrites deferred,
        VoiceOptions options, ILogger logger, Func<CallStore, CancellationToken, Task<bool>> write, CancellationToken cancellationToken)
    {
        if (WebhookAdmission.WasShed(http))
        {
            deferred.AddShed(callSid, () => $"{webhook} {callSid} (shed)", (services, ct) => write(services.GetRequiredService<CallStore>(), ct));
            return false;
        }
        using var budget = DatabaseFailures.Budget(options.DatabaseBudget, cancellationToken);
        try
        {
            var applied = await write(store, budget.Token);
            if (!applied)
            {
                LogNoChange(logger, webhook, callSid);
            }
            return applied;
        }
        catch (Exception ex) when (DatabaseFailures.IsTransient(ex, cancellationToken))
        {
            LogWriteFailed(logger, webhook, callSid, ex.Message);
            deferred.Add(callSid, $"{webhook} {callSid}", (services, ct) => write(services.GetRequiredService<CallStore>(), ct));
            return false;
        }
    }

    private static bool TryCallSid(IFormCollection form, out string callSid, out ProblemHttpResult problem)
    {
        callSid = form.Field("CallSid") ?? "";
        problem = null!;
        if (WebhookForm.IsSid(callSid))
        {
            return true;
        }
        problem = TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Missing or malformed CallSid",
            detail: "CallSid is required: 2 to 64 letters and digits, such as CA0123456789abcdef0123456789abcdef.");
        return false;
    }

    // Debug: every answered call is already a span, a call row, a calls metric and a live event; a line per call at
    // Information cost the Api a console write per webhook (5-12 % of its CPU at a few hundred calls/s).
    [LoggerMessage(EventId = 3201, EventName = "INCOMING_CALL", Level = LogLevel.Debug,
        Message = "INCOMING_CALL {CallSid} business {BusinessId} from {From}")]
    private static partial void LogIncomingCall(ILogger logger, string callSid, Guid businessId, string from);

    [LoggerMessage(EventId = 3202, EventName = "NOT_IN_SERVICE", Level = LogLevel.Warning,
        Message = "NOT_IN_SERVICE {CallSid}: no active business owns {To}")]
    private static partial void LogNotInService(ILogger logger, string callSid, string to);

    [LoggerMessage(EventId = 3203, EventName = "WEBHOOK_ERROR", Level = LogLevel.Error,
        Message = "WEBHOOK_ERROR {Webhook} answered without the database; call to rebuild: CallSid={CallSid} CallId={CallId} BusinessId={BusinessId} From={From} To={To} StartedAt={StartedAt:O}")]
    private static partial void LogCallNotRecorded(ILogger logger, string webhook, string callSid, Guid callId, Guid businessId, string from, string to, DateTimeOffset startedAt);

    [LoggerMessage(EventId = 3204, EventName = "WEBHOOK_ERROR_DEFERRED", Level = LogLevel.Error,
        Message = "WEBHOOK_ERROR {Webhook} {CallSid}: database write deferred: {Error}")]
    private static partial void LogWriteFailed(ILogger logger, string webhook, string callSid, string error);

    [LoggerMessage(EventId = 3205, EventName = "FALLBACK_RECORDING", Level = LogLevel.Warning,
        Message = "FALLBACK_RECORDING {CallSid}: the stream ended without a completed conversation ({Reason}); offering voicemail")]
    private static partial void LogFallback(ILogger logger, string callSid, string reason);

    [LoggerMessage(EventId = 3206, EventName = "WEBHOOK_NO_CHANGE", Level = LogLevel.Information,
        Message = "WEBHOOK_NO_CHANGE {Webhook} {CallSid}: repeated, out of order or unknown call; nothing changed")]
    private static partial void LogNoChange(ILogger logger, string webhook, string callSid);
}

/// <summary>The log category of the voice webhooks.</summary>
public sealed class VoiceWebhookLog;
