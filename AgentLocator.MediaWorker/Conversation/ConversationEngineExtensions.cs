using AgentLocator.Data.Jobs;
using AgentLocator.MediaWorker.Conversation.Realtime;
using AgentLocator.MediaWorker.Jobs;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Conversation;

public static class ConversationEngineExtensions
{
    /// <summary>
    /// Who answers calls. With <c>ConnectionStrings:openai</c> (<see cref="OpenAIConnection"/>; a malformed one stops the
    /// service at start, naming the key): the AI receptionist (<see cref="RealtimeConversationEngine"/>, tuned by the
    /// <c>Realtime</c> section) with the offline intake as its fallback, and voicemails transcribed by a job. Without it:
    /// the offline intake. Which one is said once at start (<c>ENGINE_REALTIME</c> / <c>ENGINE_OFFLINE</c>).
    /// </summary>
    public static IHostApplicationBuilder AddConversationEngines(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<IntakeConversationEngineFactory>();
        services.AddSingleton<ConversationRecords>();
        services.AddSingleton<ConversationEngineMetrics>();
        var connectionString = builder.Configuration.GetConnectionString(OpenAIConnection.Name);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            services.AddSingleton<IConversationEngineFactory>(sp => sp.GetRequiredService<IntakeConversationEngineFactory>());
            services.AddHostedService(sp => new ConversationEngineAnnouncement(sp.GetRequiredService<ILogger<ConversationEngineAnnouncement>>(), null, null));
            return builder;
        }

        services.AddSingleton(OpenAIConnection.Parse(connectionString));
        services.AddOptions<RealtimeOptions>().BindConfiguration(RealtimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RealtimeEngineServices>();
        services.AddSingleton<IConversationEngineFactory, RealtimeConversationEngineFactory>();
        services.AddSingleton<VoicemailTranscriber>();
        services.AddJobHandler<VoicemailTranscriptionHandler>();
        services.AddHostedService(sp => new ConversationEngineAnnouncement(sp.GetRequiredService<ILogger<ConversationEngineAnnouncement>>(),
            sp.GetRequiredService<OpenAIConnection>(), sp.GetRequiredService<IOptions<RealtimeOptions>>().Value));
        return builder;
    }
}

/// <summary>Says once, at start, which engine answers calls (never the key).</summary>
internal sealed class ConversationEngineAnnouncement(ILogger<ConversationEngineAnnouncement> logger, OpenAIConnection? connection, RealtimeOptions? options)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (connection is null)
        {
            ConversationEngineLog.Offline(logger);
        }
        else
        {
            ConversationEngineLog.Realtime(logger, connection.ToString(), options!.TurnDetection);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
