namespace AgentLocator.MediaWorker.Conversation;

/// <summary>The conversation engines' log events (EventIds 4800–4849). Never a key, never a caller's words at Information.</summary>
internal static partial class ConversationEngineLog
{
    [LoggerMessage(EventId = 4800, EventName = "ENGINE_OFFLINE", Level = LogLevel.Information,
        Message = "ENGINE_OFFLINE no ConnectionStrings:openai: calls are answered by the offline intake engine")]
    public static partial void Offline(ILogger logger);

    [LoggerMessage(EventId = 4801, EventName = "ENGINE_REALTIME", Level = LogLevel.Information,
        Message = "ENGINE_REALTIME calls are answered by the AI receptionist ({Connection}, turn detection {TurnDetection}); the offline intake is the fallback")]
    public static partial void Realtime(ILogger logger, string connection, string turnDetection);

    [LoggerMessage(EventId = 4802, EventName = "ENGINE_FALLBACK", Level = LogLevel.Warning,
        Message = "ENGINE_FALLBACK {CallSid} reason={Reason} to={FallbackMode}: {Detail}")]
    public static partial void Fallback(ILogger logger, string callSid, string reason, string fallbackMode, string detail);

    [LoggerMessage(EventId = 4803, EventName = "ENGINE_CONNECTED", Level = LogLevel.Information,
        Message = "ENGINE_CONNECTED {CallSid} model={Model} voice={Voice} in {ConnectMs} ms")]
    public static partial void Connected(ILogger logger, string callSid, string model, string voice, long connectMs);

    [LoggerMessage(EventId = 4804, EventName = "ENGINE_AI_OFF", Level = LogLevel.Information,
        Message = "ENGINE_AI_OFF {CallSid}: business {BusinessId} has the AI receptionist off; the offline intake answers")]
    public static partial void AiOff(ILogger logger, string callSid, Guid businessId);

    [LoggerMessage(EventId = 4805, EventName = "TOOL_CALL", Level = LogLevel.Information,
        Message = "TOOL_CALL {CallSid} {Tool} {Outcome}")]
    public static partial void ToolCall(ILogger logger, string callSid, string tool, string outcome);

    [LoggerMessage(EventId = 4806, EventName = "TOOL_REJECTED", Level = LogLevel.Warning,
        Message = "TOOL_REJECTED {CallSid} {Tool}: {Error}; the model was told")]
    public static partial void ToolRejected(ILogger logger, string callSid, string tool, string error);

    [LoggerMessage(EventId = 4807, EventName = "ENGINE_WRITE_FAILED", Level = LogLevel.Error,
        Message = "ENGINE_WRITE_FAILED {CallSid} {What}")]
    public static partial void WriteFailed(ILogger logger, string callSid, string what, Exception exception);

    [LoggerMessage(EventId = 4808, EventName = "REPLY_TRUNCATED", Level = LogLevel.Information,
        Message = "REPLY_TRUNCATED {CallSid} item {ItemId} heard {HeardMs} ms of {SentMs} ms")]
    public static partial void Truncated(ILogger logger, string callSid, string itemId, int heardMs, int sentMs);

    [LoggerMessage(EventId = 4809, EventName = "ENGINE_PROVIDER_NOTICE", Level = LogLevel.Information,
        Message = "ENGINE_PROVIDER_NOTICE {CallSid} error {Code} ignored: {Message}")]
    public static partial void ProviderNotice(ILogger logger, string callSid, string code, string message);

    [LoggerMessage(EventId = 4810, EventName = "ENGINE_STOPPED", Level = LogLevel.Error,
        Message = "ENGINE_STOPPED {CallSid} the AI receptionist's loop failed unexpectedly")]
    public static partial void LoopFailed(ILogger logger, string callSid, Exception exception);
}
