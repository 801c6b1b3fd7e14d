using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Redis;

public static class RedisServiceCollectionExtensions
{
    /// <summary>Tags of the "redis" health check; /readyz runs checks tagged "ready".</summary>
    public static readonly string[] HealthCheckTags = ["ready"];

    /// <summary>
    /// Registers <see cref="IRedisClient"/> from <c>ConnectionStrings:{connectionName}</c> (Aspire's
    /// <c>ConnectionStrings__redis</c>) plus the "redis" health check. Throws at startup, naming the key,
    /// when the connection string is missing.
    /// </summary>
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName = "redis", Action<RedisConnectionOptions>? configure = null)
    {
        builder.Services.AddRedisClient(builder.Configuration, connectionName, configure);
        return builder;
    }

    public static IServiceCollection AddRedisClient(this IServiceCollection services, IConfiguration configuration, string connectionName = "redis", Action<RedisConnectionOptions>? configure = null)
    {
        var connectionString = configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"Redis connection string 'ConnectionStrings:{connectionName}' (environment variable ConnectionStrings__{connectionName}) is not set. Expected host:port[,password=…][,ssl=true].");
        }
        return services.AddRedisClient(connectionString, configure);
    }

    /// <summary>Registers <see cref="IRedisClient"/> for a connection string such as <c>localhost:6379,password=…</c>.</summary>
    public static IServiceCollection AddRedisClient(this IServiceCollection services, string connectionString, Action<RedisConnectionOptions>? configure = null)
    {
        var options = RedisConnectionOptions.Parse(connectionString);
        options.ClientName ??= DefaultClientName();
        configure?.Invoke(options);

        services.AddSingleton(sp => new RedisClient(options, sp.GetService<ILoggerFactory>()));
        services.AddSingleton<IRedisClient>(sp => sp.GetRequiredService<RedisClient>());
        services.AddHostedService<RedisConnectionStarter>();
        services.AddHealthChecks().AddCheck<RedisHealthCheck>(
            RedisHealthCheck.Name, HealthStatus.Unhealthy, HealthCheckTags, timeout: TimeSpan.FromSeconds(3));
        return services;
    }

    private static string DefaultClientName()
    {
        var name = AppDomain.CurrentDomain.FriendlyName;
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-').ToArray());
        return safe.Length == 0 ? "agentlocator" : safe;
    }

    /// <summary>Creates the client at host start so it connects in the background; never waits for Redis.</summary>
    private sealed class RedisConnectionStarter(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = services.GetRequiredService<IRedisClient>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
