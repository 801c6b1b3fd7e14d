using System.Diagnostics;

namespace AgentLocator.ServiceDefaults.Telemetry;

/// <summary>
/// One trace per call: the W3C trace context of the <c>incoming_call</c> webhook travels to the MediaWorker as
/// <c>&lt;Parameter&gt;</c>s of the TwiML <c>&lt;Stream&gt;</c> (Twilio hands them back in <c>start.customParameters</c>),
/// and to later webhooks and jobs through the call row. The span names here are what a trace on the dashboard shows.
/// </summary>
public static class CallTrace
{
    public const string TraceParentParameter = "traceparent";
    public const string TraceStateParameter = "tracestate";

    /// <summary>The MediaWorker's span of one Media Stream, from <c>start</c> to the stream's end.</summary>
    public const string SessionSpan = "media-stream session";

    /// <summary>One caller turn: from the end of the caller's speech to the start of the reply.</summary>
    public const string TurnSpan = "turn";

    /// <summary>The call went to voicemail (the stream ended without a completed conversation).</summary>
    public const string FallbackSpan = "call fallback";

    public const string CallSidTag = "twilio.call_sid";

    /// <summary>The W3C <c>traceparent</c> of a span context: <c>00-{trace id}-{span id}-{flags}</c>.</summary>
    public static string TraceParent(ActivityContext context) =>
        $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{(context.TraceFlags.HasFlag(ActivityTraceFlags.Recorded) ? "01" : "00")}";

    /// <summary>The remote parent a <c>start</c> message carries, or <c>default</c> (a new trace) when it has none or a malformed one.</summary>
    public static ActivityContext ParentFrom(IReadOnlyDictionary<string, string> parameters)
    {
        parameters.TryGetValue(TraceParentParameter, out var traceParent);
        parameters.TryGetValue(TraceStateParameter, out var traceState);
        return ParentFrom(traceParent, traceState);
    }

    /// <summary>The remote parent of a stored <c>traceparent</c>, or <c>default</c> when it is missing or malformed.</summary>
    public static ActivityContext ParentFrom(string? traceParent, string? traceState = null) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent) ? parent : default;
}
