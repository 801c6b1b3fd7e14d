using AgentLocator.Data.Storage;

namespace AgentLocator.Api.WhatsApp;

public static class WhatsAppExtensions
{
    /// <summary>WhatsApp webhooks and CRM sending, and the signed audio links lead notifications point to.</summary>
    public static IHostApplicationBuilder AddWhatsApp(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddScoped<WhatsAppStore>();
        services.AddMediaLinks(builder.Configuration);
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }

    /// <summary><c>/whatsapp/webhook</c>, <c>/whatsapp/status</c> and <c>/media/…</c> (the CRM endpoints live in the <c>/api</c> group).</summary>
    public static IEndpointRouteBuilder MapWhatsApp(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapWhatsAppWebhooks();
        endpoints.MapMediaApi();
        return endpoints;
    }
}
