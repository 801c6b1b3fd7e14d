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
    /// Binds <see cref="TwilioOptions"/> from the <c>Twilio</c> section (validated at start), registers
    /// <see cref="TwilioRestApi"/> on the <see cref="TwilioRestApi.HttpClientName"/> HttpClient (the service
    /// defaults give it resilience; <see cref="RepeatableCallUpdateHandler"/> runs before that,
    /// <see cref="TwilioApiBaseUrlHandler"/> after) and a <see cref="TwilioSignatureValidator"/> keyed with the
    /// configured auth token.
    /// </summary>
    public static IHttpClientBuilder AddTwilio(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<TwilioOptions>()
            .Bind(configuration.GetSection(TwilioOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TwilioOptions>, TwilioOptionsValidator>());
        services.TryAddSingleton(sp =>
        {
            var token = sp.GetRequiredService<IOptions<TwilioOptions>>().Value.AuthToken;
            return string.IsNullOrEmpty(token)
                ? throw new InvalidOperationException("Twilio:AuthToken is not configured (environment variable Twilio__AuthToken); webhook signatures cannot be checked.")
                : new TwilioSignatureValidator(token);
        });
        services.TryAddTransient<TwilioRestApi>();
        services.TryAddTransient<TwilioApiBaseUrlHandler>();

        return services.AddHttpClient(TwilioRestApi.HttpClientName)
            .ConfigureAdditionalHttpMessageHandlers((handlers, _) => handlers.Insert(0, new RepeatableCallUpdateHandler()))
            .AddHttpMessageHandler<TwilioApiBaseUrlHandler>();
    }
}
