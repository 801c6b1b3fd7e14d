using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.ServiceDefaults.Telemetry;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>The shared (singleton) services every stream session uses.</summary>
internal sealed record MediaStreamServices(
    CallToken Tokens,
    ICallSessions Sessions,
    CallRecords Records,
    IConversationEngineFactory Engines,
    PromptLibrary Prompts,
    MediaStreamStats Stats,
    TimeProvider Clock,
    MediaStreamMetrics Metrics,
    ISpeechDetectorFactory SpeechDetectors,
    ServiceTelemetry Telemetry,
    PlayoutClock Playout);
