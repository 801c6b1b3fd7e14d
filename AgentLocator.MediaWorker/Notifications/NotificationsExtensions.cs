using AgentLocator.Data.Jobs;
using AgentLocator.Data.Storage;

namespace AgentLocator.MediaWorker.Notifications;

public static class NotificationsExtensions
{
    /// <summary>The WhatsApp jobs: CRM sends (<c>whatsapp.send</c>) and lead notifications (<c>lead.notify</c>).</summary>
    public static IHostApplicationBuilder AddWhatsAppNotifications(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<NotificationOptions>()
            .BindConfiguration(NotificationOptions.Section)
            .Configure<IConfiguration>((options, configuration) => options.PublicBaseUrl = configuration["PublicBaseUrl"] ?? "")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMediaLinks(builder.Configuration);
        // Transient like the TwilioRestApi it wraps; job handlers resolve it from the job's scope.
        services.AddTransient<WhatsAppSender>();
        services.AddJobHandler<WhatsAppSendHandler>();
        services.AddJobHandler<LeadNotificationHandler>();
        return builder;
    }
}
