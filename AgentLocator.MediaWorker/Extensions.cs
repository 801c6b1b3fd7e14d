using AgentLocator.Data.Calls;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Sessions;
using AgentLocator.Data.Storage;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.Housekeeping;
using AgentLocator.MediaWorker.Jobs;
using AgentLocator.MediaWorker.MediaStreams;
using AgentLocator.MediaWorker.Notifications;
using AgentLocator.MediaWorker.Watchdog;
using AgentLocator.Twilio;

namespace AgentLocator.MediaWorker;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddAgentLocatorData();
        var services = builder.Services;
        services.AddTwilio(builder.Configuration);
        services.AddCallTokens(builder.Configuration);
        builder.AddCallSessions();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddOptions<WatchdogOptions>().BindConfiguration(WatchdogOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<StreamStartWatchdog>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamStartWatchdog>());

        builder.AddConversationEngines();
        builder.AddMediaStreams();
        services.AddJobHandler<RecordingStoreHandler>();
        builder.AddWhatsAppNotifications();
        services.AddSingleton<TempAudioCleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<TempAudioCleanup>());
        return builder;
    }
}
