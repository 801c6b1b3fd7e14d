using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Messages;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.MediaWorker.Notifications;

/// <summary>Runs <see cref="WhatsAppSendJob"/>: sends a message the CRM queued. Idempotent: a message with a MessageSid is not sent again.</summary>
public sealed class WhatsAppSendHandler : IJobHandler
{
    public string Type => WhatsAppSendJob.Type;

    public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.GetPayload<WhatsAppSendJob.Payload>();
        var db = context.Services.GetRequiredService<AgentLocatorDbContext>();
        var message = await db.Messages.SingleOrDefaultAsync(m => m.Id == payload.MessageId, cancellationToken)
            ?? throw new JobFailedException($"message {payload.MessageId} does not exist");
        await context.Services.GetRequiredService<WhatsAppSender>().SendAsync(db, message, context, cancellationToken);
    }
}
