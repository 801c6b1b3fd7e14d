using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.AppHost;

/// <summary>The AppHost's own services: its settings and build metadata (tests read them too), the startup timeline and summary, the ephemeral clean-up.</summary>
public static class AppHostServices
{
    public static IDistributedApplicationBuilder AddAppHostServices(this IDistributedApplicationBuilder builder, AppHostSettings settings, BuildMetadata build)
    {
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(build);
        if (builder.ExecutionContext.IsRunMode)
        {
            StartupTimeline.AddStartupTimeline(builder);
            builder.AddPromptHealthChecks();
            builder.Services.AddHostedService<StartupSummary>();
            builder.Services.AddHostedService<EphemeralData>();
        }

        return builder;
    }
}
