using System.Diagnostics.Metrics;

namespace AgentLocator.MediaWorker.Conversation;

/// <summary>
/// The conversation engines' metrics on the MediaWorker's meter (<c>AgentLocator.MediaWorker</c>): calls the AI
/// receptionist handed over (by reason), tool calls (by tool and outcome) and the provider's reply latency.
/// </summary>
public sealed class ConversationEngineMetrics
{
    public const string MeterName = "AgentLocator.MediaWorker";
    public const string FallbacksName = "agentlocator.engine.fallbacks";
    public const string ToolCallsName = "agentlocator.engine.tool_calls";
    public const string ReplyLatencyName = "agentlocator.engine.reply_latency";

    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _toolCalls;
    private readonly Histogram<double> _replyLatency;

    public ConversationEngineMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _fallbacks = meter.CreateCounter<long>(FallbacksName, "{call}",
            "Calls the AI receptionist handed to its fallback (the offline intake or voicemail), by reason");
        _toolCalls = meter.CreateCounter<long>(ToolCallsName, "{call}", "Tool calls the model made, by tool and outcome (ok, invalid, failed)");
        _replyLatency = meter.CreateHistogram<double>(ReplyLatencyName, "ms",
            "From the caller's end of speech (local detector) to the provider's first audio of the reply");
    }

    public void Fallback(string reason) => _fallbacks.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void ToolCall(string tool, string outcome) =>
        _toolCalls.Add(1, new KeyValuePair<string, object?>("tool", tool), new KeyValuePair<string, object?>("outcome", outcome));

    public void ReplyLatency(TimeSpan latency) => _replyLatency.Record(latency.TotalMilliseconds);
}
