namespace AgentLocator.Twilio.Rest;

/// <summary>The audio format to fetch a recording in.</summary>
public enum RecordingFormat
{
    /// <summary>WAV (what the bare <c>RecordingUrl</c> gives).</summary>
    Wav,

    /// <summary>MP3 (<c>RecordingUrl</c> + <c>.mp3</c>).</summary>
    Mp3,
}

/// <summary>How a recording download ended.</summary>
public enum RecordingDownloadStatus
{
    /// <summary>The file was written.</summary>
    Downloaded,

    /// <summary>
    /// Twilio answered 404: right after a call the recording is often still being processed. Nothing
    /// was written; try again later (a recording that never appears stays 404 too, so cap the attempts).
    /// </summary>
    NotReady,
}

/// <summary>The result of a recording download.</summary>
/// <param name="Status">Whether the file was written.</param>
/// <param name="Bytes">How many bytes were written.</param>
/// <param name="ContentType">The content type Twilio sent (e.g. <c>audio/x-wav</c>).</param>
public sealed record RecordingDownloadResult(RecordingDownloadStatus Status, long Bytes, string? ContentType)
{
    /// <summary>Whether the caller should retry later.</summary>
    public bool IsNotReady => Status == RecordingDownloadStatus.NotReady;
}
