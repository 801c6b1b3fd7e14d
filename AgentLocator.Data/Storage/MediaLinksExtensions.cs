using AgentLocator.Data.Calls;
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
        services.TryAddSingleton(_ => new MediaLinks(SharedSecret.Resolve(configuration, "signed media links")));
        return services;
    }
}
