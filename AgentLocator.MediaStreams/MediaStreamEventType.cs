namespace AgentLocator.MediaStreams;

/// <summary>The <c>event</c> of a Media Streams WebSocket message (TWILIO.md §4).</summary>
public enum MediaStreamEventType
{
    /// <summary>Not a message: parsing failed.</summary>
    None = 0,

    /// <summary>Twilio → app, first message.</summary>
    Connected,

    /// <summary>Twilio → app, once, with call identifiers, custom parameters and media format.</summary>
    Start,

    /// <summary>Both directions: audio (base64 mu-law payload).</summary>
    Media,

    /// <summary>Twilio → app: a key the caller pressed.</summary>
    Dtmf,

    /// <summary>App → Twilio (a marker after queued audio) and Twilio → app (its echo once played).</summary>
    Mark,

    /// <summary>Twilio → app: the stream ended.</summary>
    Stop,

    /// <summary>App → Twilio: drop the buffered audio (barge-in).</summary>
    Clear,

    /// <summary>A well-formed message whose event this library does not know (see <see cref="MediaStreamMessage.UnknownEventName"/>).</summary>
    Unknown,
}
