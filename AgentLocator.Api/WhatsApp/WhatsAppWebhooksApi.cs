using AgentLocator.Api.Voice;
using AgentLocator.Api.Webhooks;
using AgentLocator.Data.Messages;
using AgentLocator.Data.Phones;
using AgentLocator.Twilio.Twiml;
using Twilio.TwiML;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.WhatsApp;

/// <summary>
/// The WhatsApp webhooks Twilio calls: inbound messages and delivery statuses. Both are signed
/// (<see cref="TwilioWebhookFilter"/>), answer fast, and never make Twilio retry for something a
/// retry cannot fix; Postgres gets a bounded budget and what could not be written is written later.
/// </summary>
public static partial class WhatsAppWebhooksApi
{
    public static IEndpointRouteBuilder MapWhatsAppWebhooks(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/whatsapp").WithTags("Twilio WhatsApp webhooks")
            .AddEndpointFilter<TwilioWebhookFilter>()
            .DisableAntiforgery();
        group.MapPost("/webhook", InboundAsync);
        group.MapPost("/status", StatusAsync);
        return endpoints;
    }

    /// <summary>
    /// Stores the message (once per MessageSid) under the business that owns the <c>To</c> sender and
    /// answers an empty <c>&lt;Response/&gt;</c>, or the business's auto-reply as a TwiML <c>&lt;Message&gt;</c>.
    /// </summary>
    public static async Task<Results<TwimlResult, ProblemHttpResult>> InboundAsync(
        HttpRequest request, WhatsAppStore store, DeferredWrites deferred, IOptions<VoiceOptions> options, TimeProvider clock,
        ILogger<WhatsAppWebhookLog> logger, CancellationToken cancellationToken)
    {
        if (!InboundWhatsAppMessage.TryParse(request.Form, clock.GetUtcNow(), out var message, out var error))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a WhatsApp message", detail: error);
        }
        var senderNumber = WhatsAppAddress.ToE164(message.To);
        using var budget = DatabaseFailures.Budget(options.Value.DatabaseBudget, cancellationToken);
        try
        {
            var sender = senderNumber is null ? null : await store.FindSenderAsync(senderNumber, budget.Token);
            if (sender is null)
            {
                // A number we do not serve: a retry would not change that, so 200 and nothing stored.
                LogUnknownSender(logger, message.MessageSid, PhoneNumbers.Redact(senderNumber ?? message.To));
                return new MessagingResponse().ToResult();
            }
            var result = await store.StoreInboundAsync(message, sender, budget.Token);
            LogInbound(logger, message.MessageSid, sender.BusinessId, PhoneNumbers.Redact(WhatsAppAddress.ToE164(message.From) ?? message.From),
                message.MediaUrls.Count, result.Stored);
            var reply = new MessagingResponse();
            if (sender.Active && !string.IsNullOrWhiteSpace(sender.AutoReply))
            {
                reply.Message(sender.AutoReply.Trim());
            }
            return reply.ToResult();
        }
        catch (Exception ex) when (DatabaseFailures.IsTransient(ex, cancellationToken))
        {
            // Twilio does not retry messaging webhooks: keep the message and store it when Postgres is back.
            LogDeferred(logger, message.MessageSid, ex.Message);
            deferred.Add(message.MessageSid, $"whatsapp {message.MessageSid}", (services, ct) => StoreLaterAsync(services, message, ct));
            return new MessagingResponse().ToResult();
        }
    }

    private static async Task StoreLaterAsync(IServiceProvider services, InboundWhatsAppMessage message, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<WhatsAppStore>();
        if (WhatsAppAddress.ToE164(message.To) is { } number && await store.FindSenderAsync(number, cancellationToken) is { } sender)
        {
            await store.StoreInboundAsync(message, sender, cancellationToken);
        }
    }

    /// <summary>Records <c>queued → sent → delivered → read</c> or <c>failed/undelivered</c>; never backwards; unknown SIDs change nothing.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> StatusAsync(
        HttpRequest request, WhatsAppStore store, DeferredWrites deferred, IOptions<VoiceOptions> options, TimeProvider clock,
        ILogger<WhatsAppWebhookLog> logger, CancellationToken cancellationToken)
    {
        var form = request.Form;
        var sid = form.Field("MessageSid") ?? "";
        var status = form.Field("MessageStatus") ?? "";
        if (!WebhookForm.IsSid(sid) || status.Length == 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a message status callback",
                detail: "MessageSid (letters and digits) and MessageStatus are required.");
        }
        var errorCode = form.Field("ErrorCode") is { Length: <= 16 } code ? code : null;
        var at = clock.GetUtcNow();
        using var budget = DatabaseFailures.Budget(options.Value.DatabaseBudget, cancellationToken);
        try
        {
            var applied = await store.ApplyStatusAsync(sid, status, errorCode, at, budget.Token);
            LogStatus(logger, sid, status, errorCode ?? "", applied);
        }
        catch (Exception ex) when (DatabaseFailures.IsTransient(ex, cancellationToken))
        {
            LogDeferred(logger, sid, ex.Message);
            deferred.Add(sid, $"whatsapp status {sid}", (services, ct) =>
                services.GetRequiredService<WhatsAppStore>().ApplyStatusAsync(sid, status, errorCode, at, ct));
        }
        return TypedResults.NoContent();
    }

    [LoggerMessage(EventId = 3301, EventName = "WHATSAPP_INBOUND", Level = LogLevel.Information,
        Message = "WHATSAPP_INBOUND {MessageSid} business {BusinessId} from {From} with {MediaCount} media (new: {Stored})")]
    private static partial void LogInbound(ILogger logger, string messageSid, Guid businessId, string from, int mediaCount, bool stored);

    [LoggerMessage(EventId = 3302, EventName = "WHATSAPP_UNKNOWN_SENDER", Level = LogLevel.Warning,
        Message = "WHATSAPP_UNKNOWN_SENDER {MessageSid}: no business owns the WhatsApp sender {To}; nothing stored")]
    private static partial void LogUnknownSender(ILogger logger, string messageSid, string to);

    [LoggerMessage(EventId = 3303, EventName = "WHATSAPP_STATUS", Level = LogLevel.Information,
        Message = "WHATSAPP_STATUS {MessageSid} {MessageStatus} error {ErrorCode} (applied: {Applied})")]
    private static partial void LogStatus(ILogger logger, string messageSid, string messageStatus, string errorCode, bool applied);

    [LoggerMessage(EventId = 3304, EventName = "WEBHOOK_ERROR_DEFERRED", Level = LogLevel.Error,
        Message = "WEBHOOK_ERROR_DEFERRED whatsapp {MessageSid}: database write deferred: {Error}")]
    private static partial void LogDeferred(ILogger logger, string messageSid, string error);
}

/// <summary>The log category of the WhatsApp webhooks.</summary>
public sealed class WhatsAppWebhookLog;
