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
    /// <see cref="RecordIncomingAsync(IncomingCall, CancellationToken)"/> for several calls in one statement, one round
    /// trip and one transaction (<see cref="IncomingCallWriter"/>'s group commit). A CallSid already written, or twice in
    /// the batch, gets the call that was written first; calls from one number in the batch are one customer.
    /// </summary>
    /// <remarks>
    /// The calls travel as arrays, one per column, so the statement is the same whatever the batch's size: prepared once
    /// per pooled physical connection, it is parsed and planned once there and later batches only bind and execute it.
    /// Postgres spends about half the CPU per call on it that it spends on one statement per call in a batch (executor
    /// start-up, triggers and the protocol's messages are per statement). It runs on the context's connection, inside its
    /// retrying execution strategy and transaction if one is open.
    /// </remarks>
    public Task<RecordedCall[]> RecordIncomingAsync(IReadOnlyList<IncomingCall> calls, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(calls, async (_, batch, ct) =>
        {
            var inserted = await InsertIncomingAsync(batch, ct);
            var recorded = new RecordedCall[batch.Count];
            var claimed = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < batch.Count; i++)
            {
                // A retry, the same webhook racing itself on another replica or in this batch: the first write won.
                recorded[i] = (claimed.Add(batch[i].CallSid) && inserted.TryGetValue(batch[i].CallSid, out var written) ? written : null)
                    ?? await FindCallAsync(batch[i].CallSid, ct)
                    ?? throw new InvalidOperationException($"call {batch[i].CallSid} was neither inserted nor found");
            }
            return recorded;
        }, verifySucceeded: null, cancellationToken);

    // fresh: each CallSid once (its first call in the batch), and only if it is not written yet. caller: one customer per
    // business and number (first and last contact across its calls, in whatever order they are written), one per anonymous call.
    private const string RecordIncomingSql = """
        WITH batch AS (
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::uuid[], $7::text[],
                                 $8::text[], $9::text[], $10::text[], $11::boolean[], $12::text[])
                WITH ORDINALITY AS b(customer_id, business_id, phone, at, call_sid, call_id, "from", "to", direction, status, is_test, trace_parent, n)),
        fresh AS (
            SELECT DISTINCT ON (call_sid) * FROM batch
            WHERE NOT EXISTS (SELECT 1 FROM calls WHERE calls.call_sid = batch.call_sid)
            ORDER BY call_sid, n),
        caller AS (
            INSERT INTO customers (id, business_id, phone, name, source, first_contact_at, last_contact_at, created_at, updated_at)
            SELECT (array_agg(customer_id ORDER BY n))[1], business_id, phone, NULL, $13, min(at), max(at), min(at), max(at)
            FROM fresh WHERE phone IS NOT NULL GROUP BY business_id, phone
            UNION ALL
            SELECT customer_id, business_id, NULL, $14, $13, at, at, at, at FROM fresh WHERE phone IS NULL
            ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL
            DO UPDATE SET first_contact_at = LEAST(customers.first_contact_at, excluded.first_contact_at),
                          last_contact_at = GREATEST(customers.last_contact_at, excluded.last_contact_at), updated_at = excluded.updated_at
            RETURNING id, business_id, phone)
        INSERT INTO calls (id, call_sid, business_id, customer_id, "from", "to", direction, status, started_at,
                           stream_started, fallback_used, conversation_completed, is_test, trace_parent, created_at, updated_at)
        SELECT f.call_id, f.call_sid, f.business_id, COALESCE(known.id, anonymous.id), f."from", f."to", f.direction, f.status, f.at,
               false, false, false, f.is_test, f.trace_parent, f.at, f.at
        FROM fresh f
        LEFT JOIN caller known ON known.business_id = f.business_id AND known.phone = f.phone
        LEFT JOIN caller anonymous ON f.phone IS NULL AND anonymous.id = f.customer_id
        ON CONFLICT (call_sid) DO NOTHING
        RETURNING call_sid, id, customer_id
        """;

    /// <summary>What the batch wrote, by CallSid (absent: the CallSid was already written, or is raced by another writer).</summary>
    private async Task<Dictionary<string, RecordedCall>> InsertIncomingAsync(IReadOnlyList<IncomingCall> calls, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var count = calls.Count;
            var (customerIds, businessIds, phones, at, callSids, callIds) =
                (new Guid[count], new Guid[count], new string?[count], new DateTimeOffset[count], new string[count], new Guid[count]);
            var (from, to, directions, statuses, isTest, traceParents) =
                (new string[count], new string[count], new string[count], new string[count], new bool[count], new string?[count]);
            for (var i = 0; i < count; i++)
            {
                var call = calls[i];
                (customerIds[i], businessIds[i], phones[i], at[i], callSids[i], callIds[i]) =
                    (Guid.CreateVersion7(), call.BusinessId, PhoneNumbers.NormalizeOrNull(call.From), call.StartedAt.ToUniversalTime(), call.CallSid, call.CallId);
                (from[i], to[i], directions[i], statuses[i], isTest[i], traceParents[i]) =
                    (call.From, call.To, call.Direction, CallStatuses.IsKnown(call.Status) ? call.Status : CallStatuses.Ringing, call.IsTest, call.TraceParent);
            }
            var insert = new NpgsqlBatchCommand(RecordIncomingSql)
            {
                Parameters =
                {
                    Column(customerIds, NpgsqlDbType.Uuid),
                    Column(businessIds, NpgsqlDbType.Uuid),
                    Column(phones, NpgsqlDbType.Text),
                    Column(at, NpgsqlDbType.TimestampTz),
                    Column(callSids, NpgsqlDbType.Text),
                    Column(callIds, NpgsqlDbType.Uuid),
                    Column(from, NpgsqlDbType.Text),
                    Column(to, NpgsqlDbType.Text),
                    Column(directions, NpgsqlDbType.Text),
                    Column(statuses, NpgsqlDbType.Text),
                    Column(isTest, NpgsqlDbType.Boolean),
                    Column(traceParents, NpgsqlDbType.Text),
                    new() { Value = CustomerSources.Call, NpgsqlDbType = NpgsqlDbType.Text },
                    new() { Value = AnonymousCallerName, NpgsqlDbType = NpgsqlDbType.Text },
                },
            };
            // Planned once for any batch (a generic plan): planned for its arrays' sizes each time instead (a custom plan,
            // which Postgres keeps choosing as it looks cheaper for a few rows) cost more than running the statement.
            // Set for this statement alone: rolled back with the batch if it fails, reset after it otherwise.
            await using var batch = new NpgsqlBatch(connection)
            {
                // Without a transaction of the caller's, the batch is its own transaction: all of the calls or none.
                Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction(),
                Timeout = db.Database.GetCommandTimeout() ?? connection.CommandTimeout,
                BatchCommands = { new NpgsqlBatchCommand("SET plan_cache_mode = force_generic_plan"), insert, new NpgsqlBatchCommand("RESET plan_cache_mode") },
            };
            // Parsed once per physical connection; later batches on it only bind and execute.
            await batch.PrepareAsync(cancellationToken);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            while (reader.FieldCount == 0 && await reader.NextResultAsync(cancellationToken))
            {
                // Past the SET's empty result to the calls written.
            }
            var written = new Dictionary<string, RecordedCall>(count, StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken))
            {
                written[reader.GetString(0)] = new RecordedCall(reader.GetGuid(1), await reader.IsDBNullAsync(2, cancellationToken) ? null : reader.GetGuid(2), Created: true);
            }
            return written;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>One column of a batch of calls, as an array parameter.</summary>
    private static NpgsqlParameter Column<T>(T[] values, NpgsqlDbType type) => new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | type };

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
        await StreamStartedAsync(callSid, streamSid, at, cancellationToken) is not null;

    /// <summary>
    /// Records that the call's media stream started and returns what the stream needs of the call's row (its id, customer and
    /// whether it is test traffic), in one round trip; null when no call has that sid. A burst of call starts pays one statement
    /// each, not a query for the whole row and then an update.
    /// </summary>
    public async Task<StartedStream?> StreamStartedAsync(string callSid, string streamSid, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var rows = await db.Database.SqlQuery<StartedStream>($"""
            UPDATE calls SET stream_started = true, stream_sid = COALESCE(stream_sid, {streamSid}),
                stream_started_at = COALESCE(stream_started_at, {at}), updated_at = {at}
            WHERE call_sid = {callSid}
            RETURNING id AS "CallId", customer_id AS "CustomerId", is_test AS "IsTest"
            """).ToListAsync(cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

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
