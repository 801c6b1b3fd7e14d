using System.Net;
using AgentLocator.ServiceDefaults.Alerts;
using AgentLocator.ServiceDefaults.Health;
using AgentLocator.ServiceDefaults.Hosting;
using AgentLocator.ServiceDefaults.Http;
using AgentLocator.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every AgentLocator service shares, in the shape of Aspire's service-defaults template: OpenTelemetry,
/// health checks, service discovery and the standard resilience handler on every HttpClient; plus build
/// metadata, <c>/health</c>, <c>/readyz</c>, <c>/version</c>, <c>APP_START</c>, alerts, forwarded headers,
/// problem details and body limits.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var service = ServiceNames.Resolve(builder.Configuration["OTEL_SERVICE_NAME"], builder.Environment.ApplicationName);
        var build = BuildInfo.Create(service, builder.Environment.EnvironmentName, key => builder.Configuration[key],
            System.Reflection.Assembly.GetEntryAssembly());
        builder.Services.AddSingleton(build);
        builder.Services.AddSingleton(TimeProvider.System);

        builder.ConfigureOpenTelemetry(build);
        builder.AddAlerts();
        builder.Services.AddSingleton<ServiceTelemetry>();
        builder.Services.AddHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // Timeouts, retries and circuit breaker from HttpClient:Resilience (e.g. HttpClient__Resilience__Retry__MaxRetryAttempts).
            http.AddStandardResilienceHandler().Configure(options =>
            {
                builder.Configuration.GetSection("HttpClient:Resilience").Bind(options);
                HttpRetryPolicy.Apply(options);
            });
            http.AddServiceDiscovery();
        });

        builder.Services.AddProblemDetails();
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o =>
            o.Limits.MaxRequestBodySize = builder.Configuration.GetValue<long?>("Http:MaxRequestBodyBytes") ?? 1024 * 1024);
        builder.Services.Configure<ForwardedHeadersOptions>(o => ConfigureForwardedHeaders(o, builder.Configuration));

        builder.Services.AddHostedService<AppStartLogger>();
        return builder;
    }

    /// <summary><see cref="IAlerts"/> to <c>Alerts:WebhookUrl</c>, and an alert whenever an exception is logged as an error.</summary>
    public static TBuilder AddAlerts<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<AlertSink>();
        builder.Services.AddSingleton<IAlerts>(sp => sp.GetRequiredService<AlertSink>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertSink>());
        builder.Services.AddHttpClient(AlertSink.HttpClientName);
        builder.Logging.Services.AddSingleton<ILoggerProvider, AlertingLoggerProvider>();
        return builder;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // Bad input that the framework rejects (malformed JSON, oversized body) keeps its 4xx status.
            StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.MapHealthEndpoints();
        return app;
    }

    private static void ConfigureForwardedHeaders(ForwardedHeadersOptions options, IConfiguration configuration)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        var section = configuration.GetSection("ForwardedHeaders");
        foreach (var proxy in section.GetSection("KnownProxies").Get<string[]>() ?? [])
        {
            if (IPAddress.TryParse(proxy, out var address))
            {
                options.KnownProxies.Add(address);
            }
        }
        foreach (var network in section.GetSection("KnownNetworks").Get<string[]>() ?? [])
        {
            if (System.Net.IPNetwork.TryParse(network, out var parsed))
            {
                options.KnownIPNetworks.Add(parsed);
            }
        }
    }
}
