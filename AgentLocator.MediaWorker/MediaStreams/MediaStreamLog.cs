namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>The pipeline's log events; operators grep for the names (DESIGN.md).</summary>
internal static partial class MediaStreamLog
{
    [LoggerMessage(EventId = 4200, EventName = "WS_START", Level = LogLevel.Information,
        Message = "WS_START {CallSid} {StreamSid} session={SessionSource}")]
    public static partial void WsStart(ILogger logger, string callSid, string streamSid, string sessionSource);

    [LoggerMessage(EventId = 4201, EventName = "WS_STOP", Level = LogLevel.Information,
        Message = "WS_STOP {CallSid} {StreamSid} reason={Reason} frames={Frames} turns={Turns}")]
    public static partial void WsStop(ILogger logger, string callSid, string streamSid, string reason, long frames, int turns);

    [LoggerMessage(EventId = 4202, EventName = "HEBREW_SPEECH", Level = LogLevel.Information,
        Message = "HEBREW_SPEECH {CallSid} turn={Turn} duration_ms={DurationMs}")]
    public static partial void HebrewSpeech(ILogger logger, string callSid, int turn, int durationMs);

    [LoggerMessage(EventId = 4203, EventName = "PING_PONG_TX", Level = LogLevel.Information,
        Message = "PING_PONG_TX {CallSid} reply={ReplyId} {Label} latency_ms={LatencyMs} engine_ms={EngineMs}")]
    public static partial void PingPongTx(ILogger logger, string callSid, int replyId, string label, double latencyMs, double engineMs);

    [LoggerMessage(EventId = 4204, EventName = "BARGE_IN", Level = LogLevel.Information,
        Message = "BARGE_IN {CallSid} reply={ReplyId} heard_ms={HeardMs} of {DurationMs} echo_delay_ms={EchoDelayMs} at_ms={AtMs}")]
    public static partial void BargeIn(ILogger logger, string callSid, int replyId, int heardMs, int durationMs, double echoDelayMs, long atMs);

    [LoggerMessage(EventId = 4217, EventName = "ECHO_PATH", Level = LogLevel.Information,
        Message = "ECHO_PATH {CallSid} delay_ms={DelayMs} correlation={Correlation}")]
    public static partial void EchoPath(ILogger logger, string callSid, double delayMs, double correlation);

    [LoggerMessage(EventId = 4220, EventName = "CALLER_FIRST", Level = LogLevel.Information,
        Message = "CALLER_FIRST {CallSid} correlation={Correlation} min_delay_ms={MinDelayMs}: the reply's first sound after a quiet line matched the bot's audio at no delay the echo could have: a caller's")]
    public static partial void CallerFirst(ILogger logger, string callSid, double correlation, double minDelayMs);

    [LoggerMessage(EventId = 4219, EventName = "PLAYBACK_START", Level = LogLevel.Information,
        Message = "PLAYBACK_START {CallSid} reply={ReplyId} at_ms={AtMs} moved_ms={MovedMs}: the line began the reply here (its start mark echoed), moved from the worker's estimate")]
    public static partial void PlaybackStart(ILogger logger, string callSid, int replyId, long atMs, long movedMs);

    [LoggerMessage(EventId = 4205, EventName = "WS_REJECTED", Level = LogLevel.Warning,
        Message = "WS_REJECTED {CallSid} {StreamSid}: {Reason}")]
    public static partial void WsRejected(ILogger logger, string callSid, string streamSid, string reason);

    [LoggerMessage(EventId = 4206, EventName = "WS_PROTOCOL_ERROR", Level = LogLevel.Warning,
        Message = "WS_PROTOCOL_ERROR {CallSid}: {Reason}")]
    public static partial void ProtocolError(ILogger logger, string callSid, string reason);

    [LoggerMessage(EventId = 4207, EventName = "CALL_ENDING", Level = LogLevel.Information,
        Message = "CALL_ENDING {CallSid} end={End} reason={Reason}")]
    public static partial void CallEnding(ILogger logger, string callSid, string end, string reason);

    [LoggerMessage(EventId = 4208, EventName = "WS_ERROR", Level = LogLevel.Error,
        Message = "WS_ERROR {CallSid}: {Stage} failed")]
    public static partial void Error(ILogger logger, string callSid, string stage, Exception exception);

    [LoggerMessage(EventId = 4209, EventName = "IDLE", Level = LogLevel.Information,
        Message = "IDLE {CallSid} count={Count}")]
    public static partial void Idle(ILogger logger, string callSid, int count);

    [LoggerMessage(EventId = 4212, EventName = "WS_SEND_FAILED", Level = LogLevel.Error,
        Message = "WS_SEND_FAILED {CallSid} {StreamSid}: {Reason}; the caller goes to voicemail")]
    public static partial void WsSendFailed(ILogger logger, string callSid, string streamSid, string reason, Exception exception);

    [LoggerMessage(EventId = 4213, EventName = "WS_LOOP_FAILED", Level = LogLevel.Error,
        Message = "WS_LOOP_FAILED {CallSid} {StreamSid} loop={Loop}: {Reason}; the caller goes to voicemail")]
    public static partial void WsLoopFailed(ILogger logger, string callSid, string streamSid, string loop, string reason, Exception exception);

    [LoggerMessage(EventId = 4214, EventName = "SPEECH_IGNORED", Level = LogLevel.Information,
        Message = "SPEECH_IGNORED {CallSid} speech_ms={SpeechMs} after_playback_ms={AfterPlaybackMs}: began under a reply and stopped with it (echo or back-channel)")]
    public static partial void SpeechIgnored(ILogger logger, string callSid, int speechMs, int afterPlaybackMs);

    [LoggerMessage(EventId = 4215, EventName = "VOICEMAIL_REDIRECT", Level = LogLevel.Warning,
        Message = "VOICEMAIL_REDIRECT {CallSid}: redirected to {Url} ({Outcome})")]
    public static partial void VoicemailRedirect(ILogger logger, string callSid, string url, string outcome);

    [LoggerMessage(EventId = 4216, EventName = "VOICEMAIL_REDIRECT_FAILED", Level = LogLevel.Error,
        Message = "VOICEMAIL_REDIRECT_FAILED {CallSid}: {Error}; closing the stream sends Twilio to the <Connect> action instead")]
    public static partial void VoicemailRedirectFailed(ILogger logger, string callSid, string error);

    [LoggerMessage(EventId = 4218, EventName = "CALL_ID_FROM_ROW", Level = LogLevel.Warning,
        Message = "CALL_ID_FROM_ROW {CallSid}: the stream carried call {StreamCallId}, the call's row is {RowCallId}; the call's records go to the row")]
    public static partial void CallIdFromRow(ILogger logger, string callSid, Guid streamCallId, Guid rowCallId);
}
