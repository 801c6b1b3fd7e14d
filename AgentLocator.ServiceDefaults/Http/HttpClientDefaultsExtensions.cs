using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentLocator.ServiceDefaults.Http;

/// <summary>HttpClient defaults: configuration-based service discovery plus retries and timeouts.</summary>
public static class HttpClientDefaultsExtensions
{
    /// <summary>Gives every HttpClient service discovery and the standard resilience pipeline.</summary>
    public static IServiceCollection AddAgentLocatorHttpClientDefaults(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.ConfigureHttpClientDefaults(builder =>
        {
            builder.AddServiceDiscovery();
            builder.AddAgentLocatorResilience();
        });
        return services;
    }

    /// <summary>Rewrites service-name hosts (<c>http://api/</c>) to the endpoints in <c>services:{name}:{scheme}:0</c>.</summary>
    public static IHttpClientBuilder AddServiceDiscovery(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddTransient<ServiceDiscoveryHandler>();
        return builder.AddHttpMessageHandler<ServiceDiscoveryHandler>();
    }

    /// <summary>
    /// Adds total timeout, retries (exponential backoff with jitter, <c>Retry-After</c>) and a per-attempt
    /// timeout, configured from <c>HttpClient:Resilience</c>; <paramref name="configure"/> adjusts a copy for
    /// this client only.
    /// </summary>
    public static IHttpClientBuilder AddAgentLocatorResilience(this IHttpClientBuilder builder, Action<HttpResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(HttpResilienceRegistration)))
        {
            services.AddSingleton<HttpResilienceRegistration>();
            services.AddOptions<HttpResilienceOptions>()
                .BindConfiguration(HttpResilienceOptions.SectionName)
                .ValidateDataAnnotations()
                .ValidateOnStart();
            services.TryAddSingleton(TimeProvider.System);
        }

        return builder.AddHttpMessageHandler(sp =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<HttpResilienceOptions>>().CurrentValue.Clone();
            configure?.Invoke(options);
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ResilienceHandler).FullName!);
            return new ResilienceHandler(HttpResilience.CreatePipeline(options, sp.GetRequiredService<TimeProvider>(), logger));
        });
    }

    /// <summary>Marks that the resilience options are registered, so several clients do not bind them twice.</summary>
    private sealed class HttpResilienceRegistration;
}
