using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Model;
using AgentLocator.Data.Phones;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Data.Calls;

/// <summary>
/// What a live conversation writes as it goes: the lead (on the call and its customer), the
/// per-turn transcript, which engine answered and why it handed over. Every write is idempotent:
/// a conversation that repeats a save, or a retried write, changes nothing more.
/// </summary>
public sealed class ConversationStore(AgentLocatorDbContext db)
{
    /// <summary>How a business wants its calls answered.</summary>
    public Task<ReceptionistProfile?> FindProfileAsync(Guid businessId, CancellationToken cancellationToken) =>
        db.Businesses.AsNoTracking().Where(b => b.Id == businessId)
            .Select(b => new ReceptionistProfile(b.Id, b.Name, b.AssistantInstructions, b.AssistantVoice, b.AiEnabled, b.AiFallback, b.TimeZone))
            .SingleOrDefaultAsync(cancellationToken);

    /// <summary>
    /// Merges <paramref name="lead"/> into the call's lead fields and names its customer, in one transaction
    /// (replayed whole by the retrying execution strategy). A call without a customer (its row was rebuilt
    /// after an outage) gets one by the caller's number. Returns the call's lead as it now stands.
    /// </summary>
    public Task<LeadFields> SaveLeadAsync(Guid callId, LeadFields lead, DateTimeOffset at, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(async ct =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var call = await db.Calls.FromSql($"SELECT * FROM calls WHERE id = {callId} FOR UPDATE").SingleOrDefaultAsync(ct)
                ?? throw new InvalidOperationException($"call {callId} does not exist");
            var merged = new LeadFields(call.LeadName, call.LeadReason, call.LeadCallbackTime, call.LeadNotes).With(lead);
            (call.LeadName, call.LeadReason, call.LeadCallbackTime, call.LeadNotes) = (merged.Name, merged.Reason, merged.CallbackTime, merged.Notes);
            call.LeadSavedAt = at;

            var customer = call.CustomerId is { } customerId ? await db.Customers.SingleOrDefaultAsync(c => c.Id == customerId, ct) : null;
            if (customer is null)
            {
                var phone = PhoneNumbers.NormalizeOrNull(call.From);
                customer = phone is null ? null : await db.Customers.SingleOrDefaultAsync(c => c.BusinessId == call.BusinessId && c.Phone == phone, ct);
                if (customer is null)
                {
                    customer = new Customer { BusinessId = call.BusinessId, Phone = phone, Source = CustomerSources.Call, FirstContactAt = call.StartedAt };
                    db.Customers.Add(customer);
                }
                call.CustomerId = customer.Id;
            }
            if (lead.Name is not null)
            {
                customer.Name = lead.Name;
            }
            customer.LastContactAt = customer.LastContactAt > at ? customer.LastContactAt : at;
            await db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
            await transaction.CommitAsync(ct);
            db.ChangeTracker.AcceptAllChanges();
            return merged;
        }, cancellationToken);

    /// <summary>Writes one turn of the transcript; writing the same provider item again updates it (a reply that was cut short).</summary>
    public async Task SaveTranscriptTurnAsync(TranscriptTurn turn, CancellationToken cancellationToken)
    {
        var now = db.Clock.GetUtcNow();
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO transcript_turns (id, call_id, sequence, speaker, text, item_id, interrupted, heard_ms, created_at)
            VALUES ({turn.Id}, {turn.CallId}, {turn.Sequence}, {turn.Speaker}, {turn.Text}, {turn.ItemId}, {turn.Interrupted}, {turn.HeardMs}, {now})
            ON CONFLICT (call_id, item_id) DO UPDATE SET text = excluded.text,
                interrupted = transcript_turns.interrupted OR excluded.interrupted,
                heard_ms = COALESCE(excluded.heard_ms, transcript_turns.heard_ms)
            """, cancellationToken);
    }

    public Task<List<TranscriptTurn>> GetTranscriptAsync(Guid callId, CancellationToken cancellationToken) =>
        db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == callId).OrderBy(t => t.Sequence).ThenBy(t => t.CreatedAt).ToListAsync(cancellationToken);

    /// <summary>Which engine answers the call, and (once) why the AI receptionist handed it over.</summary>
    public async Task RecordEngineAsync(Guid callId, string engine, string? fallbackReason, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE calls SET engine = {engine}, engine_fallback_reason = COALESCE(engine_fallback_reason, {fallbackReason}), updated_at = {at}
            WHERE id = {callId}
            """, cancellationToken);

    public async Task SaveSummaryAsync(Guid callId, string summary, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"UPDATE calls SET summary = {summary}, updated_at = {at} WHERE id = {callId}", cancellationToken);

    /// <summary>
    /// Queues the business's lead notification for a call that left a lead without reaching its goodbye (the caller
    /// hung up). Not for a call that went to voicemail (its recording job queues the notification once the recording
    /// is stored, under the same dedup key) nor for test traffic. False when nothing was queued.
    /// </summary>
    public async Task<bool> QueueLeadNotificationUnlessVoicemailAsync(Guid callId, CancellationToken cancellationToken)
    {
        var call = await db.Calls.AsNoTracking().Where(c => c.Id == callId).Select(c => new { c.FallbackUsed, c.IsTest }).SingleOrDefaultAsync(cancellationToken);
        if (call is null || call.FallbackUsed || call.IsTest)
        {
            return false;
        }
        return await JobQueue.EnqueueOnceAsync(db, LeadNotificationJob.Type, new LeadNotificationJob.Payload(callId), LeadNotificationJob.DedupKey(callId),
            cancellationToken: cancellationToken);
    }
}

/// <summary>How a business wants its calls answered (the CRM's receptionist settings).</summary>
public sealed record ReceptionistProfile(Guid BusinessId, string Name, string? Instructions, string? Voice, bool AiEnabled, string AiFallback, string TimeZone);
