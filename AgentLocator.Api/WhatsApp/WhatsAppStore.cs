using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Messages;
using AgentLocator.Data.Model;
using AgentLocator.Data.Phones;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Api.WhatsApp;

/// <summary>
/// The WhatsApp writes the webhooks make. Both are idempotent (Twilio may post the same
/// message twice) and a status never moves a message backwards (callbacks arrive out of order).
/// </summary>
public sealed class WhatsAppStore(AgentLocatorDbContext db)
{
    public Task<WhatsAppSender?> FindSenderAsync(string e164, CancellationToken cancellationToken) =>
        db.Businesses.AsNoTracking()
            .Where(b => b.WhatsAppNumber == e164 && b.DeletedAt == null)
            .Select(b => new WhatsAppSender(b.Id, b.Active, b.WhatsAppAutoReply))
            .SingleOrDefaultAsync(cancellationToken);

    /// <summary>
    /// Stores an inbound message once per MessageSid, with its customer (upserted by phone, keeping
    /// the WaId, the time of their first message and of their last: a sender's messages are posted side by side and
    /// may commit in either order) and, when the business has one, the auto-reply.
    /// </summary>
    public async Task<InboundResult> StoreInboundAsync(InboundWhatsAppMessage message, WhatsAppSender sender, CancellationToken cancellationToken)
    {
        if (await db.Messages.AsNoTracking().AnyAsync(m => m.MessageSid == message.MessageSid, cancellationToken))
        {
            return new InboundResult(Stored: false, CustomerId: null);
        }
        var phone = WhatsAppAddress.ToE164(message.From) ?? (message.WaId is { } waId ? PhoneNumbers.NormalizeOrNull("+" + waId) : null);
        var autoReply = sender.Active && !string.IsNullOrWhiteSpace(sender.AutoReply) ? sender.AutoReply.Trim() : null;
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async ct =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var customerId = phone is null ? (Guid?)null : await UpsertCustomerAsync(sender.BusinessId, phone, message, ct);
            var now = message.ReceivedAt;
            var inserted = await db.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO messages (id, business_id, customer_id, message_sid, direction, channel, "from", "to", body,
                    media_urls, media_content_types, status, created_at, updated_at)
                VALUES ({Guid.CreateVersion7()}, {sender.BusinessId}, {customerId}, {message.MessageSid}, {MessageDirections.Inbound}, 'whatsapp',
                    {message.From}, {message.To}, {message.Body}, {message.MediaUrls.ToArray()}, {message.MediaContentTypes.ToArray()},
                    {MessageStatuses.Received}, {now}, {now})
                ON CONFLICT (message_sid) WHERE message_sid IS NOT NULL DO NOTHING
                """, ct);
            if (inserted == 0)
            {
                // The same message raced itself on another replica: that one stored it.
                await transaction.RollbackAsync(ct);
                return new InboundResult(Stored: false, CustomerId: customerId);
            }
            if (autoReply is not null)
            {
                // Twilio sends the TwiML <Message> reply itself: kept in the conversation without a MessageSid. Written by
                // SQL in this transaction, never through the change tracker: an entity added by a try that failed would still
                // be pending when the execution strategy replays the transaction, and be inserted a second time (or point at
                // the customer row the failed try rolled back).
                await db.Database.ExecuteSqlInterpolatedAsync($"""
                    INSERT INTO messages (id, business_id, customer_id, direction, channel, "from", "to", body,
                        media_urls, media_content_types, status, purpose, created_at, updated_at)
                    VALUES ({Guid.CreateVersion7()}, {sender.BusinessId}, {customerId}, {MessageDirections.Outbound}, 'whatsapp',
                        {message.To}, {message.From}, {autoReply}, {Array.Empty<string>()}, {Array.Empty<string>()},
                        {MessageStatuses.Queued}, {MessagePurposes.AutoReply}, {now.AddTicks(1)}, {now.AddTicks(1)})
                    """, ct);
            }
            await transaction.CommitAsync(ct);
            return new InboundResult(Stored: true, CustomerId: customerId);
        }, cancellationToken);
    }

    private async Task<Guid> UpsertCustomerAsync(Guid businessId, string phone, InboundWhatsAppMessage message, CancellationToken cancellationToken)
    {
        var now = message.ReceivedAt;
        var ids = await db.Database.SqlQuery<Guid>($"""
            INSERT INTO customers (id, business_id, name, phone, wa_id, source, first_contact_at, last_contact_at, last_inbound_message_at, created_at, updated_at)
            VALUES ({Guid.CreateVersion7()}, {businessId}, {message.ProfileName}, {phone}, {message.WaId}, {CustomerSources.WhatsApp}, {now}, {now}, {now}, {now}, {now})
            ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL
            DO UPDATE SET wa_id = COALESCE(excluded.wa_id, customers.wa_id),
                name = COALESCE(customers.name, excluded.name),
                first_contact_at = LEAST(customers.first_contact_at, excluded.first_contact_at),
                last_contact_at = GREATEST(customers.last_contact_at, excluded.last_contact_at),
                last_inbound_message_at = GREATEST(customers.last_inbound_message_at, excluded.last_inbound_message_at),
                updated_at = excluded.updated_at
            RETURNING id AS "Value"
            """).ToListAsync(cancellationToken);
        return ids[0];
    }

    /// <summary>Applies a status callback when it moves the message forward; returns whether it did.</summary>
    public async Task<bool> ApplyStatusAsync(string messageSid, string status, string? errorCode, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (MessageStatuses.Rank(status) < 0)
        {
            return false;
        }
        var earlier = MessageStatuses.Before(status);
        return await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE messages SET status = {status}, error_code = COALESCE({errorCode}, error_code), updated_at = {at}
            WHERE message_sid = {messageSid} AND direction = 'outbound' AND status = ANY({earlier})
            """, cancellationToken) == 1;
    }
}

/// <summary>The business that owns a WhatsApp sender.</summary>
public sealed record WhatsAppSender(Guid BusinessId, bool Active, string? AutoReply);

public sealed record InboundResult(bool Stored, Guid? CustomerId);
