using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Model;
using AgentLocator.Data.Phones;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace AgentLocator.Data.Calls;

/// <summary>
/// The call records both services write. Every write is idempotent (Twilio retries webhooks)
/// and statuses only move forward (callbacks arrive out of order).
/// </summary>
public sealed class CallStore(AgentLocatorDbContext db)
{
    public const string AnonymousCallerName = "מתקשר/ת חסוי/ה";

    public AgentLocatorDbContext Db => db;

    public async Task<BusinessRoute?> FindBusinessByNumberAsync(string number, CancellationToken cancellationToken)
    {
        var normalized = PhoneNumbers.NormalizeOrNull(number) ?? number;
        return await db.BusinessPhoneNumbers.AsNoTracking()
            .Where(p => p.Number == normalized)
            .Join(db.Businesses.Where(b => b.DeletedAt == null), p => p.BusinessId, b => b.Id,
                (p, b) => new BusinessRoute(b.Id, b.Name, b.Active, b.MaxRecordingSeconds, b.NotificationPhone, b.WhatsAppNumber))
            .SingleOrDefaultAsync(cancellationToken);
    }

    /// <summary>
    /// Upserts the caller as a customer of the business and writes the call row, once per
    /// CallSid, in one statement (one round trip on the webhook's hot path). A retried webhook
    /// writes nothing and returns the existing call. Anonymous and SIP/client callers get a
    /// lead of their own, found again through the call.
    /// </summary>
    public async Task<RecordedCall> RecordIncomingAsync(IncomingCall call, CancellationToken cancellationToken) =>
        (await RecordIncomingAsync([call], cancellationToken))[0];

    /// <summary>
    /// <see cref="RecordIncomingAsync(IncomingCall, CancellationToken)"/> for several calls in one round trip and one
    /// transaction (<see cref="IncomingCallWriter"/>'s group commit): the statement once per call, prepared, in one
    /// batch. A CallSid already written, or twice in the batch, gets the call that was written first.
    /// </summary>
    /// <remarks>
    /// The batch runs on the context's connection, inside its retrying execution strategy and transaction if one is
    /// open: EF's raw SQL query evaluated the interpolated arguments by compiling an expression (a JIT compilation) on
    /// every call, and Postgres planned the statement afresh each time (twice the CPU of executing it prepared). The
    /// prepared statement stays on the pooled physical connection, so it is parsed and planned once per connection,
    /// whatever the batch's size.
    /// </remarks>
    public Task<RecordedCall[]> RecordIncomingAsync(IReadOnlyList<IncomingCall> calls, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(calls, async (_, batch, ct) =>
        {
            var inserted = await InsertIncomingAsync(batch, ct);
            var recorded = new RecordedCall[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                // A retry, the same webhook racing itself on another replica or in this batch: the first write won.
                recorded[i] = inserted[i] ?? await FindCallAsync(batch[i].CallSid, ct)
                    ?? throw new InvalidOperationException($"call {batch[i].CallSid} was neither inserted nor found");
            }
            return recorded;
        }, verifySucceeded: null, cancellationToken);

    private const string RecordIncomingSql = """
        WITH caller AS (
            INSERT INTO customers (id, business_id, phone, name, source, first_contact_at, last_contact_at, created_at, updated_at)
            SELECT $1, $2, $3, $4, $5, $6, $6, $6, $6
            WHERE NOT EXISTS (SELECT 1 FROM calls WHERE call_sid = $7)
            ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL
            DO UPDATE SET last_contact_at = GREATEST(customers.last_contact_at, excluded.last_contact_at), updated_at = excluded.updated_at
            RETURNING id),
        inserted AS (
            INSERT INTO calls (id, call_sid, business_id, customer_id, "from", "to", direction, status, started_at,
                               stream_started, fallback_used, conversation_completed, is_test, trace_parent, created_at, updated_at)
            SELECT $8, $7, $2, caller.id, $9, $10, $11, $12, $6,
                   false, false, false, $13, $14, $6, $6
            FROM caller
            ON CONFLICT (call_sid) DO NOTHING
            RETURNING id, customer_id)
        SELECT id, customer_id FROM inserted
        """;

    private static NpgsqlBatchCommand InsertIncomingCommand(IncomingCall call)
    {
        var phone = PhoneNumbers.NormalizeOrNull(call.From);
        var status = CallStatuses.IsKnown(call.Status) ? call.Status : CallStatuses.Ringing;
        return new NpgsqlBatchCommand(RecordIncomingSql)
        {
            Parameters =
            {
                new() { Value = Guid.CreateVersion7(), NpgsqlDbType = NpgsqlDbType.Uuid },
                new() { Value = call.BusinessId, NpgsqlDbType = NpgsqlDbType.Uuid },
                new() { Value = (object?)phone ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = phone is null ? AnonymousCallerName : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = CustomerSources.Call, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = call.StartedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                new() { Value = call.CallSid, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = call.CallId, NpgsqlDbType = NpgsqlDbType.Uuid },
                new() { Value = call.From, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = call.To, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = call.Direction, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = status, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = call.IsTest, NpgsqlDbType = NpgsqlDbType.Boolean },
                new() { Value = (object?)call.TraceParent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            },
        };
    }

    /// <summary>What each call's statement wrote, in order: null where it wrote nothing (the CallSid was already written).</summary>
    private async Task<RecordedCall?[]> InsertIncomingAsync(IReadOnlyList<IncomingCall> calls, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            // Without a transaction of the caller's, the batch is one implicit transaction: all of it or none.
            await using var batch = new NpgsqlBatch(connection)
            {
                Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction(),
                Timeout = db.Database.GetCommandTimeout() ?? connection.CommandTimeout,
            };
            foreach (var call in calls)
            {
                batch.BatchCommands.Add(InsertIncomingCommand(call));
            }
            // Parsed and planned once per physical connection; later batches on it only bind and execute.
            await batch.PrepareAsync(cancellationToken);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            var written = new RecordedCall?[calls.Count];
            for (var i = 0; i < calls.Count; i++)
            {
                if (i > 0 && !await reader.NextResultAsync(cancellationToken))
                {
                    throw new InvalidOperationException($"the batch of {calls.Count} calls returned {i} results");
                }
                written[i] = await reader.ReadAsync(cancellationToken)
                    ? new RecordedCall(reader.GetGuid(0), await reader.IsDBNullAsync(1, cancellationToken) ? null : reader.GetGuid(1), Created: true)
                    : null;
            }
            return written;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    public async Task<RecordedCall?> FindCallAsync(string callSid, CancellationToken cancellationToken) =>
        await db.Calls.AsNoTracking().Where(c => c.CallSid == callSid)
            .Select(c => new RecordedCall(c.Id, c.CustomerId, false))
            .SingleOrDefaultAsync(cancellationToken);

    /// <summary>The call's trace (the <c>incoming_call</c> webhook's traceparent), if the call is known and was traced.</summary>
    public Task<string?> TraceParentOfAsync(string callSid, CancellationToken cancellationToken) =>
        db.Calls.AsNoTracking().Where(c => c.CallSid == callSid).Select(c => c.TraceParent).SingleOrDefaultAsync(cancellationToken);

    public Task<Call?> GetCallAsync(string callSid, CancellationToken cancellationToken) =>
        db.Calls.AsNoTracking().SingleOrDefaultAsync(c => c.CallSid == callSid, cancellationToken);

    /// <summary>Applies a status callback only when it moves the call forward; returns whether it did.</summary>
    public async Task<bool> ApplyStatusAsync(string callSid, string status, int? durationSeconds, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (!CallStatuses.IsKnown(status))
        {
            return false;
        }
        var final = CallStatuses.IsFinal(status);
        var earlier = CallStatuses.Before(status);
        var updated = await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE calls SET status = {status},
                duration_seconds = COALESCE({durationSeconds}, duration_seconds),
                ended_at = CASE WHEN {final} THEN COALESCE(ended_at, {at}) ELSE ended_at END,
                updated_at = {at}
            WHERE call_sid = {callSid} AND status = ANY({earlier})
            """, cancellationToken);
        if (updated == 0 && final && durationSeconds is not null)
        {
            // A repeated final callback may carry the duration the first one lacked.
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"UPDATE calls SET duration_seconds = {durationSeconds} WHERE call_sid = {callSid} AND duration_seconds IS NULL", cancellationToken);
        }
        return updated == 1;
    }

    public async Task<bool> RecordStreamStartedAsync(string callSid, string streamSid, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE calls SET stream_started = true, stream_sid = COALESCE(stream_sid, {streamSid}),
                stream_started_at = COALESCE(stream_started_at, {at}), updated_at = {at}
            WHERE call_sid = {callSid}
            """, cancellationToken) == 1;

    public async Task<bool> RecordStreamStoppedAsync(string callSid, string? error, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE calls SET stream_stopped_at = COALESCE(stream_stopped_at, {at}), stream_error = COALESCE({error}, stream_error), updated_at = {at}
            WHERE call_sid = {callSid}
            """, cancellationToken) == 1;

    public async Task<bool> RecordFallbackAsync(string callSid, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE calls SET fallback_used = true, fallback_reason = COALESCE(fallback_reason, {reason}), updated_at = {at}
            WHERE call_sid = {callSid}
            """, cancellationToken) == 1;

    public async Task<bool> RecordWatchdogFiredAsync(string callSid, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE calls SET watchdog_fired_at = COALESCE(watchdog_fired_at, {at}), fallback_used = true,
                fallback_reason = COALESCE(fallback_reason, 'watchdog'), updated_at = {at}
            WHERE call_sid = {callSid}
            """, cancellationToken) == 1;

    public async Task<bool> RecordConversationCompletedAsync(string callSid, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"UPDATE calls SET conversation_completed = true, updated_at = {at} WHERE call_sid = {callSid}", cancellationToken) == 1;

    /// <summary>
    /// Marks the conversation completed and, when <paramref name="notify"/>, queues the business's lead
    /// notification, in one transaction. The retrying execution strategy replays the whole transaction
    /// after a transient failure; both writes are idempotent, so a replay after a lost commit changes nothing.
    /// </summary>
    public Task CompleteConversationAsync(string callSid, Guid callId, bool notify, DateTimeOffset at, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(async ct =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            await RecordConversationCompletedAsync(callSid, at, ct);
            if (notify)
            {
                await JobQueue.EnqueueOnceAsync(db, LeadNotificationJob.Type, new LeadNotificationJob.Payload(callId),
                    LeadNotificationJob.DedupKey(callId), cancellationToken: ct);
            }
            await transaction.CommitAsync(ct);
        }, cancellationToken);
}
