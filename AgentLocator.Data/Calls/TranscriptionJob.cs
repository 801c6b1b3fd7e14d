namespace AgentLocator.Data.Calls;

/// <summary>
/// Transcribes a stored voicemail (when a speech provider is configured), then queues the business's
/// lead notification so the transcript goes with it. Queued by the recording job, once per recording.
/// </summary>
public static class TranscriptionJob
{
    public const string Type = "recording.transcribe";

    public sealed record Payload(Guid RecordingId);

    public static string DedupKey(Guid recordingId) => "transcribe:" + recordingId.ToString("N");
}
