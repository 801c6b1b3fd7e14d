using AgentLocator.Media;
using AgentLocator.ServiceDefaults.Alerts;
using Microsoft.Extensions.Options;
using OpenAI.Realtime;

#pragma warning disable OPENAI002 // OpenAI.Realtime is experimental in the 2.x SDK.

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>The shared (singleton) parts every call's <see cref="RealtimeConversationEngine"/> uses.</summary>
public sealed class RealtimeEngineServices(
    OpenAIConnection connection,
    IOptions<RealtimeOptions> options,
    ConversationRecords records,
    PromptLibrary prompts,
    IntakeConversationEngineFactory intake,
    ConversationEngineMetrics metrics,
    IAlerts alerts,
    ILoggerFactory loggers,
    TimeProvider clock)
{
    /// <summary>One client for every call: it holds the endpoint and the key; each call opens its own session (WebSocket).</summary>
    internal RealtimeClient Client { get; } = new(new System.ClientModel.ApiKeyCredential(connection.Key),
        new RealtimeClientOptions { Endpoint = connection.Endpoint });

    public OpenAIConnection Connection => connection;

    public RealtimeOptions Options => options.Value;

    public ConversationRecords Records => records;

    public PromptLibrary Prompts => prompts;

    public IntakeConversationEngineFactory Intake => intake;

    public ConversationEngineMetrics Metrics => metrics;

    public IAlerts Alerts => alerts;

    public ILogger Logger { get; } = loggers.CreateLogger<RealtimeConversationEngine>();

    public TimeProvider Clock => clock;
}

/// <summary>Creates a <see cref="RealtimeConversationEngine"/> per call (it decides at start whether the AI receptionist or the intake answers).</summary>
public sealed class RealtimeConversationEngineFactory(RealtimeEngineServices services) : IConversationEngineFactory
{
    public IConversationEngine Create(ConversationContext context) => new RealtimeConversationEngine(context, services);
}
