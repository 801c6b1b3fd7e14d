using System.Diagnostics;
using System.Text.Json;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Data.Jobs;

/// <summary>
/// Enqueues durable work in the caller's <see cref="AgentLocatorDbContext"/>, so the job is
/// committed in the same transaction as the data it belongs to.
/// </summary>
public static class JobQueue
{
    public static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);

    /// <summary>Adds the job to the context; it is written by the caller's next <c>SaveChanges</c>.</summary>
    public static Job Enqueue(AgentLocatorDbContext db, string type, object payload, string? dedupKey = null,
        DateTimeOffset? runAt = null, int? maxAttempts = null)
    {
        var job = NewJob(db.Clock, type, payload, dedupKey, runAt, maxAttempts);
        db.Jobs.Add(job);
        return job;
    }

    /// <summary>
    /// Inserts the job at once (inside the context's current transaction, if one is open);
    /// returns false when a job with the same dedup key already exists, so a retried webhook
    /// never queues the same work twice. The job continues <paramref name="traceParent"/>'s trace when given
    /// (the call's, for work a later webhook queues for it), else the current activity's.
    /// </summary>
    public static async Task<bool> EnqueueOnceAsync(AgentLocatorDbContext db, string type, object payload, string dedupKey,
        DateTimeOffset? runAt = null, int? maxAttempts = null, string? traceParent = null, CancellationToken cancellationToken = default)
    {
        var job = NewJob(db.Clock, type, payload, dedupKey, runAt, maxAttempts);
        job.TraceParent = traceParent ?? job.TraceParent;
        var now = db.Clock.GetUtcNow();
        var inserted = await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO jobs (type, payload, dedup_key, status, attempts, max_attempts, run_at, trace_parent, created_at, updated_at)
            VALUES ({job.Type}, {job.Payload}::jsonb, {job.DedupKey}, {job.Status}, 0, {job.MaxAttempts}, {job.RunAt}, {job.TraceParent}, {now}, {now})
            ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
            """, cancellationToken);
        return inserted == 1;
    }

    private static Job NewJob(TimeProvider clock, string type, object payload, string? dedupKey, DateTimeOffset? runAt, int? maxAttempts) => new()
    {
        Type = type,
        Payload = payload as string ?? JsonSerializer.Serialize(payload, payload.GetType(), PayloadJson),
        DedupKey = dedupKey,
        RunAt = runAt ?? clock.GetUtcNow(),
        MaxAttempts = maxAttempts ?? 8,
        TraceParent = Activity.Current?.Id,
    };
}
