namespace AgentLocator.MediaStreams;

public enum MediaStreamParseStatus
{
    /// <summary>A known event, all required fields present and valid.</summary>
    Ok = 0,

    /// <summary>Well-formed JSON with an <c>event</c> this library does not know: ignore or log, do not fail the call.</summary>
    UnknownEvent,

    /// <summary>Not JSON, not a JSON object, or trailing garbage.</summary>
    MalformedJson,

    /// <summary>JSON, but a required field is missing or has the wrong type or format (including a payload that is not base64).</summary>
    InvalidMessage,

    /// <summary>Larger than the parser's limit.</summary>
    TooLarge,
}
