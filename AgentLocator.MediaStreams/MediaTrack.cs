namespace AgentLocator.MediaStreams;

/// <summary>The <c>media.track</c> of a Twilio → app audio frame.</summary>
public enum MediaTrack
{
    /// <summary>No track field (app → Twilio media carries none).</summary>
    Unspecified = 0,

    /// <summary><c>inbound</c>: the caller's audio.</summary>
    Inbound,

    /// <summary><c>outbound</c>: the audio Twilio plays to the caller.</summary>
    Outbound,

    /// <summary>Any other value.</summary>
    Other,
}
