using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.AppHost;

/// <summary>
/// Health checks for servers given as connection strings (<c>AddConnectionString</c>): without one, <c>WaitFor</c> on a
/// connection string waits only until it is resolved, and the services would start against a server that is down.
/// </summary>
public static class ConnectionStringHealthChecks
{
    /// <summary>Healthy once a connection opens and answers (AspNetCore.HealthChecks.NpgSql).</summary>
    public static IResourceBuilder<IResourceWithConnectionString> WithNpgsqlHealthCheck(this IResourceBuilder<IResourceWithConnectionString> builder)
    {
        var key = $"{builder.Resource.Name}_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().AddNpgSql(_ => ConnectionStringOf(builder), name: key);
        return builder.WithHealthCheck(key);
    }

    /// <summary>Healthy once PING answers (AspNetCore.HealthChecks.Redis, over StackExchange.Redis).</summary>
    public static IResourceBuilder<IResourceWithConnectionString> WithRedisHealthCheck(this IResourceBuilder<IResourceWithConnectionString> builder)
    {
        var key = $"{builder.Resource.Name}_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().AddRedis(_ => ConnectionStringOf(builder), name: key);
        return builder.WithHealthCheck(key);
    }

    private static string ConnectionStringOf(IResourceBuilder<IResourceWithConnectionString> builder) =>
        builder.ApplicationBuilder.Configuration.GetConnectionString(builder.Resource.Name)
        ?? throw new InvalidOperationException($"ConnectionStrings__{builder.Resource.Name} is not set.");
}
