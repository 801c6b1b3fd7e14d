using System.Globalization;
using System.Net;
using System.Text.Json;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Model;
using AgentLocator.Data.Phones;
using AgentLocator.Twilio.Rest;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Notifications;

/// <summary>
/// Sends one outbound <see cref="Message"/> row through Twilio and records what happened: the
/// MessageSid and status on success; on a permanent refusal (invalid number 21211, outside the
/// 24-hour window 63016, …) the status <c>failed</c> with Twilio's code, and the job is not
/// retried; on rate limiting or a Twilio outage the job is retried with backoff.
/// </summary>
public sealed partial class WhatsAppSender(TwilioRestApi twilio, IOptions<NotificationOptions> options, ILogger<WhatsAppSender> logger)
{
    public const string StatusCallbackPath = "/whatsapp/status";

    /// <summary>Sends <paramref name="message"/> (tracked by <paramref name="db"/>) unless it already has a MessageSid.</summary>
    public async Task SendAsync(AgentLocatorDbContext db, Message message, JobContext context, CancellationToken cancellationToken)
    {
        if (message.MessageSid is not null || message.Status == MessageStatuses.Failed)
        {
            return;
        }
        var request = new TwilioMessage
        {
            To = message.To,
            From = message.From,
            Body = message.ContentSid is null ? message.Body : null,
            MediaUrls = message.MediaUrls,
            StatusCallback = options.Value.Url(StatusCallbackPath),
            ContentSid = message.ContentSid,
            ContentVariables = message.ContentVariables is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(message.ContentVariables),
        };
        TwilioMessageResult result;
        try
        {
            result = await twilio.SendMessageAsync(request, cancellationToken);
        }
        catch (TwilioApiException ex) when (IsRetryable(ex) && !context.IsLastAttempt)
        {
            LogRetry(logger, message.Id, (int)ex.StatusCode, ex.Code ?? 0);
            throw new JobRetryException($"Twilio answered HTTP {(int)ex.StatusCode} (code {ex.Code}) for message {message.Id}; retrying", null, ex);
        }
        catch (TwilioApiException ex)
        {
            await RecordFailureAsync(db, message, ex.Code?.ToString(CultureInfo.InvariantCulture) ?? ((int)ex.StatusCode).ToString(CultureInfo.InvariantCulture),
                ex.Message, cancellationToken);
            throw new JobFailedException($"Twilio refused message {message.Id}: HTTP {(int)ex.StatusCode}, code {ex.Code}", ex);
        }
        catch (Exception ex) when (context.IsLastAttempt && ex is not (ArgumentException or OperationCanceledException { CancellationToken.IsCancellationRequested: true }))
        {
            // Twilio unreachable through every attempt: the message did not go; say so in the conversation.
            await RecordFailureAsync(db, message, "unreachable", ex.Message, cancellationToken);
            throw;
        }
        catch (ArgumentException ex)
        {
            await RecordFailureAsync(db, message, "invalid", ex.Message, cancellationToken);
            throw new JobFailedException($"message {message.Id} cannot be sent: {ex.Message}", ex);
        }

        message.MessageSid = result.Sid;
        var status = result.ErrorCode is null ? result.Status : MessageStatuses.Failed;
        message.Status = MessageStatuses.IsForward(message.Status, status) ? status : MessageStatuses.Queued;
        if (result.ErrorCode is { } code)
        {
            message.ErrorCode = code.ToString(CultureInfo.InvariantCulture);
            message.ErrorMessage = result.ErrorMessage;
        }
        // Twilio has the message now: this write must not be cancelled by a shutdown, or a retry would send it twice.
        await db.SaveChangesAsync(CancellationToken.None);
        LogSent(logger, message.Id, result.Sid, PhoneNumbers.Redact(PhoneNumbers.NormalizeOrNull(message.To)), message.Purpose ?? "");
    }

    /// <summary>429 and 5xx were not (or may not have been) processed: safe to try again. 401 may be a credential being rotated.</summary>
    private static bool IsRetryable(TwilioApiException ex) =>
        ex.IsRateLimited || (int)ex.StatusCode >= 500 || ex.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.Unauthorized;

    private async Task RecordFailureAsync(AgentLocatorDbContext db, Message message, string code, string error, CancellationToken cancellationToken)
    {
        message.Status = MessageStatuses.Failed;
        message.ErrorCode = code;
        message.ErrorMessage = error.Length > 500 ? error[..500] : error;
        await db.SaveChangesAsync(cancellationToken);
        LogFailed(logger, message.Id, code, message.Purpose ?? "");
    }

    [LoggerMessage(EventId = 4601, EventName = "WHATSAPP_SENT", Level = LogLevel.Information,
        Message = "WHATSAPP_SENT message {MessageId} as {MessageSid} to {To} ({Purpose})")]
    private static partial void LogSent(ILogger logger, Guid messageId, string messageSid, string to, string purpose);

    [LoggerMessage(EventId = 4602, EventName = "WHATSAPP_FAILED", Level = LogLevel.Warning,
        Message = "WHATSAPP_FAILED message {MessageId} refused by Twilio with code {ErrorCode} ({Purpose}); not retried")]
    private static partial void LogFailed(ILogger logger, Guid messageId, string errorCode, string purpose);

    [LoggerMessage(EventId = 4603, EventName = "WHATSAPP_RETRY", Level = LogLevel.Warning,
        Message = "WHATSAPP_RETRY message {MessageId}: Twilio answered HTTP {HttpStatus} code {TwilioCode}; will retry")]
    private static partial void LogRetry(ILogger logger, Guid messageId, int httpStatus, int twilioCode);
}
