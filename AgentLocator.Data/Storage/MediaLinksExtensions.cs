using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentLocator.Data.Storage;

public static class MediaLinksExtensions
{
    /// <summary>
    /// Signed audio links, keyed like the call tokens: <c>MediaStream:TokenSecret</c>, else
    /// <c>Twilio:AuthToken</c>. Api and MediaWorker must share it.
    /// </summary>
    public static IServiceCollection AddMediaLinks(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(_ =>
        {
            var secret = configuration["MediaStream:TokenSecret"];
            if (string.IsNullOrEmpty(secret))
            {
                secret = configuration["Twilio:AuthToken"];
            }
            return string.IsNullOrEmpty(secret)
                ? throw new InvalidOperationException("Set MediaStream:TokenSecret (or Twilio:AuthToken): signed media links are keyed with it.")
                : new MediaLinks(secret);
        });
        return services;
    }
}
