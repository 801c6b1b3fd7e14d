namespace AgentLocator.Data.Calls;

/// <summary>
/// The durable job that fetches a voicemail from Twilio, stores it and notifies the business.
/// Both <c>handle_recording</c> and <c>recording_status</c> enqueue it under one dedup key.
/// The MediaWorker runs it.
/// </summary>
public static class RecordingJob
{
    public const string Type = "recording.store";

    public sealed record Payload(string CallSid, string RecordingUrl, string RecordingSid, int? DurationSeconds, string? Status);

    public static string DedupKey(string recordingSid) => "recording:" + recordingSid;

    /// <summary>Twilio's recording URLs end with the recording SID: <c>…/Recordings/RE…</c>.</summary>
    public static string? SidFromUrl(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return null;
        }
        var last = url.TrimEnd('/').Split('/')[^1];
        var dot = last.IndexOf('.');
        last = dot > 0 ? last[..dot] : last;
        return last.StartsWith("RE", StringComparison.Ordinal) && last.Length is > 2 and <= 64 && last.All(char.IsAsciiLetterOrDigit) ? last : null;
    }
}
