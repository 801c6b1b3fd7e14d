using AgentLocator.Api.Webhooks;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Sessions;
using AgentLocator.Twilio;
using Microsoft.Extensions.FileProviders;

namespace AgentLocator.Api.Voice;

public static class VoiceExtensions
{
    public static IHostApplicationBuilder AddVoiceWebhooks(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddTwilio(builder.Configuration);
        services.AddOptions<PublicUrlOptions>().Bind(builder.Configuration).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<VoiceOptions>().BindConfiguration(VoiceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddCallTokens(builder.Configuration);
        builder.AddCallSessions();
        services.AddSingleton<BusinessDirectory>();
        services.AddSingleton<VoiceTwiml>();
        // Hosted services stop in reverse order: the writer after the deferred writes, which go through it.
        services.AddSingleton<IncomingCallWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<IncomingCallWriter>());
        services.AddSingleton<DeferredWrites>();
        services.AddHostedService(sp => sp.GetRequiredService<DeferredWrites>());
        services.AddScoped<TwilioWebhookFilter>();
        services.AddSingleton<WebhookAdmission>();
        return builder;
    }

    /// <summary>
    /// The Hebrew prompts Twilio plays, at <c>/static/tts/*.mp3</c>: audio content types,
    /// validators (ETag, Last-Modified) and an hour of public caching.
    /// </summary>
    public static WebApplication MapPrompts(this WebApplication app)
    {
        var directory = app.Configuration["Prompts:Directory"] ?? Path.Combine(AppContext.BaseDirectory, "tts");
        if (!Directory.Exists(directory))
        {
            throw new InvalidOperationException($"The prompt directory '{directory}' does not exist (configuration key Prompts:Directory).");
        }
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(Path.GetFullPath(directory)),
            RequestPath = "/static/tts",
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "public, max-age=3600",
        });
        return app;
    }
}
