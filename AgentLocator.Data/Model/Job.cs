namespace AgentLocator.Data.Model;

public static class JobStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Succeeded = "succeeded";

    /// <summary>Dead-lettered: failed <see cref="Job.MaxAttempts"/> times; operators see it with its last error.</summary>
    public const string Dead = "dead";
}

/// <summary>Work that must not be lost, in the same database as the data it belongs to.</summary>
public class Job
{
    public long Id { get; set; }

    public required string Type { get; set; }

    /// <summary>JSON payload for the handler.</summary>
    public required string Payload { get; set; }

    /// <summary>Optional key that makes enqueueing idempotent (one job per key, ever).</summary>
    public string? DedupKey { get; set; }

    public string Status { get; set; } = JobStatuses.Pending;

    public int Attempts { get; set; }

    public int MaxAttempts { get; set; } = 8;

    public DateTimeOffset RunAt { get; set; }

    public string? LockedBy { get; set; }

    public DateTimeOffset? LockedUntil { get; set; }

    public string? LastError { get; set; }

    /// <summary>W3C traceparent of the request that enqueued it, so the trace crosses the queue.</summary>
    public string? TraceParent { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }
}
