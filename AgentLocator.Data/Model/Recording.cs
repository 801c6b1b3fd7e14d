namespace AgentLocator.Data.Model;

public static class RecordingStatuses
{
    public const string Pending = "pending";
    public const string Stored = "stored";
    public const string Failed = "failed";
}

/// <summary>A voicemail recording: Twilio's copy first, then our durable copy under the storage directory.</summary>
public class Recording
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid CallId { get; set; }

    public Guid? CustomerId { get; set; }

    public string? RecordingSid { get; set; }

    public required string RecordingUrl { get; set; }

    public int? DurationSeconds { get; set; }

    public string Status { get; set; } = RecordingStatuses.Pending;

    /// <summary>Path relative to the storage directory once stored.</summary>
    public string? StoragePath { get; set; }

    public string? ContentType { get; set; }

    public long? SizeBytes { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StoredAt { get; set; }

    /// <summary>What the caller said, from the transcription job (when a provider is configured).</summary>
    public string? Transcript { get; set; }

    public DateTimeOffset? TranscribedAt { get; set; }
}
