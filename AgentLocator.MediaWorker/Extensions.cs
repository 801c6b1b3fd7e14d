using AgentLocator.Data.Calls;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Storage;
using AgentLocator.MediaWorker.Housekeeping;
using AgentLocator.MediaWorker.Jobs;
using AgentLocator.MediaWorker.MediaStreams;
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
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        builder.AddMediaStreams();
        services.AddJobHandler<RecordingStoreHandler>();
        services.AddSingleton<TempAudioCleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<TempAudioCleanup>());
        return builder;
    }
}
