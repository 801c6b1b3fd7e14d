using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static partial class ServiceDefaultsExtensions
{
    // Replaced when the HttpClient resilience and service discovery land (ServiceDefaults/Http).
    private static IServiceCollection AddAgentLocatorHttpClientDefaults(this IServiceCollection services) => services;
}
