using AgentLocator.Twilio.Rest;
using AgentLocator.Twilio.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentLocator.Twilio;

/// <summary>Registers AgentLocator's Twilio services.</summary>
public static class TwilioServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="TwilioOptions"/> from the <c>Twilio</c> section (validated at start), registers the
    /// typed <see cref="TwilioRestClient"/> (resilience and service discovery come from the HttpClient
    /// defaults) and a <see cref="TwilioRequestValidator"/> keyed with the configured auth token.
    /// </summary>
    public static IHttpClientBuilder AddTwilio(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<TwilioOptions>()
            .Bind(configuration.GetSection(TwilioOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TwilioOptions>, TwilioOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var token = sp.GetRequiredService<IOptions<TwilioOptions>>().Value.AuthToken;
            return string.IsNullOrEmpty(token)
                ? throw new InvalidOperationException("Twilio:AuthToken is not configured (environment variable Twilio__AuthToken); webhook signatures cannot be checked.")
                : new TwilioRequestValidator(token);
        });

        return services.AddHttpClient<TwilioRestClient>();
    }
}
