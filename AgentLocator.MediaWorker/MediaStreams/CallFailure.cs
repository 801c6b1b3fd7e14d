namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>Which part of a live call failed.</summary>
internal enum CallLoop
{
    /// <summary>The send loop (<see cref="OutboundQueue"/>): the bot's audio, marks and clears.</summary>
    Send,

    /// <summary>The receive loop: Twilio's frames, turn taking, playback, ending.</summary>
    Receive,

    /// <summary>The conversation engine the receive loop asked for a reply.</summary>
    Engine,
}

/// <summary>
/// Why a call's loop ended while the call was still going: logged (<c>WS_SEND_FAILED</c> /
/// <c>WS_LOOP_FAILED</c>), counted by <see cref="Reason"/>, recorded as the call's fallback reason, and
/// the caller sent to voicemail. Reasons are a small fixed set (metric tags).
/// </summary>
internal sealed record CallFailure(CallLoop Loop, string Reason, Exception Exception)
{
    public const string SendTimeout = "send_timeout";
    public const string SendError = "send_error";
    public const string ReceiveTimeout = "receive_timeout";
    public const string ConnectionLost = "connection_lost";
    public const string InternalError = "internal_error";
    public const string EngineError = "engine_error";
    public const string EngineTimeout = "engine_timeout";
    public const string ServerStopping = "server_stopping";
}

internal static class CallLoopNames
{
    public static string Name(this CallLoop loop) => loop switch
    {
        CallLoop.Send => "send",
        CallLoop.Receive => "receive",
        _ => "engine",
    };
}
