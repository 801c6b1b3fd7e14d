using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Messages;
using AgentLocator.Data.Model;
using AgentLocator.Data.Phones;
using AgentLocator.Data.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Notifications;

/// <summary>
/// Runs <see cref="LeadNotificationJob"/>: tells the business on WhatsApp (its NotificationPhone,
/// from its WhatsApp sender) who called and what they left (the AI receptionist's lead and summary, the
/// conversation turn by turn, the voicemail and its transcript), with signed links to the audio. The
/// notification is a message row of its own (purpose <c>lead_notification</c>, linked to the call),
/// so a repeated job never sends it twice once Twilio has accepted it.
/// </summary>
public sealed partial class LeadNotificationHandler(
    MediaLinks links, IOptions<NotificationOptions> options, ILogger<LeadNotificationHandler> logger) : IJobHandler
{
    public string Type => LeadNotificationJob.Type;

    public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.GetPayload<LeadNotificationJob.Payload>();
        var db = context.Services.GetRequiredService<AgentLocatorDbContext>();
        var call = await db.Calls.AsNoTracking().SingleOrDefaultAsync(c => c.Id == payload.CallId, cancellationToken)
            ?? throw new JobFailedException($"call {payload.CallId} does not exist");
        var existing = await db.Messages
            .Where(m => m.CallId == call.Id && m.Purpose == MessagePurposes.LeadNotification)
            .OrderBy(m => m.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (existing is { MessageSid: not null } or { Status: MessageStatuses.Failed })
        {
            LogAlreadyHandled(logger, call.CallSid, existing.Status);
            return;
        }
        if (call.IsTest)
        {
            return;
        }
        var business = await db.Businesses.AsNoTracking().SingleAsync(b => b.Id == call.BusinessId, cancellationToken);
        var notify = PhoneNumbers.NormalizeOrNull(business.NotificationPhone);
        var from = PhoneNumbers.NormalizeOrNull(business.WhatsAppNumber);
        if (notify is null || from is null)
        {
            LogSkipped(logger, call.CallSid, business.Id, notify is null ? "no NotificationPhone" : "no WhatsAppNumber");
            return;
        }

        var message = existing ?? await CreateAsync(db, call, business, notify, from, cancellationToken);
        await context.Services.GetRequiredService<WhatsAppSender>().SendAsync(db, message, context, cancellationToken);
    }

    private async Task<Message> CreateAsync(AgentLocatorDbContext db, Call call, Business business, string notify, string from,
        CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var expires = db.Clock.GetUtcNow() + settings.MediaLinkLifetime;
        var answers = (await db.Utterances.AsNoTracking().Where(u => u.CallId == call.Id).OrderBy(u => u.Sequence).ToListAsync(cancellationToken))
            .Select(u => new LeadNotificationText.Answer(u.Slot, u.Transcript, settings.Url(links.CreatePath(MediaLinks.Utterances, u.Id, expires))))
            .ToList();
        var recording = await db.Recordings.AsNoTracking().Where(r => r.CallId == call.Id)
            .OrderByDescending(r => r.Status == RecordingStatuses.Stored).ThenByDescending(r => r.CreatedAt)
            .FirstOrDefaultAsync(cancellationToken);
        var voicemail = recording is null ? null : new LeadNotificationText.VoiceMail(recording.DurationSeconds,
            recording.Status == RecordingStatuses.Stored ? settings.Url(links.CreatePath(MediaLinks.Recordings, recording.Id, expires)) : null,
            recording.Status == RecordingStatuses.Failed, recording.Transcript);
        var lead = new LeadNotificationText.Lead(call.LeadName, call.LeadReason, call.LeadCallbackTime, call.LeadNotes, call.Summary);
        var conversation = (await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id)
                .OrderBy(t => t.Sequence).ThenBy(t => t.CreatedAt).ToListAsync(cancellationToken))
            .Select(t => new LeadNotificationText.Line(t.Speaker == TranscriptSpeakers.Caller, t.Text))
            .ToList();
        var customerName = call.CustomerId is { } customerId
            ? await db.Customers.AsNoTracking().Where(c => c.Id == customerId).Select(c => c.Name).SingleOrDefaultAsync(cancellationToken)
            : null;
        if (customerName == CallStore.AnonymousCallerName)
        {
            customerName = null;
        }
        var caller = PhoneNumbers.NormalizeOrNull(call.From) ?? LeadNotificationText.AnonymousCaller;
        var template = string.IsNullOrWhiteSpace(settings.LeadTemplateContentSid) ? null : settings.LeadTemplateContentSid.Trim();

        var message = new Message
        {
            BusinessId = business.Id,
            CallId = call.Id,
            Direction = MessageDirections.Outbound,
            From = WhatsAppAddress.For(from),
            To = WhatsAppAddress.For(notify),
            Body = template is null
                ? LeadNotificationText.Body(business.Name, caller, customerName, call.StartedAt, Zone(business.TimeZone), answers, voicemail, lead, conversation)
                : null,
            ContentSid = template,
            ContentVariables = template is null ? null : ContentVariablesJson.Serialize(LeadNotificationText.TemplateVariables(caller, answers, voicemail, lead)),
            Status = MessageStatuses.Pending,
            Purpose = MessagePurposes.LeadNotification,
        };
        db.Messages.Add(message);
        await db.SaveChangesAsync(cancellationToken);
        return message;
    }

    private static TimeZoneInfo Zone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    [LoggerMessage(EventId = 4711, EventName = "LEAD_NOTIFY_SKIPPED", Level = LogLevel.Warning,
        Message = "LEAD_NOTIFY_SKIPPED {CallSid}: business {BusinessId} has {Reason}; nobody to tell")]
    private static partial void LogSkipped(ILogger logger, string callSid, Guid businessId, string reason);

    [LoggerMessage(EventId = 4712, EventName = "LEAD_NOTIFY_DONE_BEFORE", Level = LogLevel.Information,
        Message = "LEAD_NOTIFY_DONE_BEFORE {CallSid}: the notification was already handled ({MessageStatus}); not sent again")]
    private static partial void LogAlreadyHandled(ILogger logger, string callSid, string messageStatus);
}
