using AgentLocator.Api.Apis;
using AgentLocator.Api.Security;
using AgentLocator.Api.Voice;
using AgentLocator.Api.WhatsApp;

namespace AgentLocator.Api.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddAgentLocatorData();
        builder.Services.AddCrmApi();
        builder.AddVoiceWebhooks();
        builder.AddWhatsApp();
        builder.Services.AddOpenApi();

        var keys = builder.Configuration.GetSection($"{CrmOptions.Section}:ApiKeys").Get<string[]>() ?? [];
        if (!builder.Environment.IsDevelopment() && !keys.Any(k => !string.IsNullOrWhiteSpace(k)))
        {
            throw new InvalidOperationException(
                "No CRM API key is configured: set Crm:ApiKeys (environment variable Crm__ApiKeys__0) outside Development.");
        }
        return builder;
    }
}
