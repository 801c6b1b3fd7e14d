using AgentLocator.Data.Calls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace AgentLocator.Data.Sessions;

public static class SessionExtensions
{
    public const string ConnectionName = "redis";

    /// <summary>Tags of the <c>redis</c> check; <c>/readyz</c> runs the checks tagged "ready".</summary>
    private static readonly string[] ReadyTags = ["ready"];

    /// <summary>
    /// Live call sessions in Redis when <c>ConnectionStrings:redis</c> is set: Aspire's StackExchange.Redis
    /// client (one multiplexer, connected at start, traced) with <see cref="CallPathRedisDefaults"/>, and
    /// the AspNetCore.HealthChecks.Redis check Aspire would add, named <c>redis</c> and tagged for
    /// readiness. Without the connection string nothing is shared and the services run on what each
    /// request carries.
    /// </summary>
    public static IHostApplicationBuilder AddCallSessions(this IHostApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionName)))
        {
            builder.Services.TryAddSingleton<ICallSessions, NoCallSessions>();
            return builder;
        }
        builder.AddRedisClient(ConnectionName,
            settings =>
            {
                settings.DisableAutoActivation = false;
                settings.DisableHealthChecks = true;
            },
            options => options.Defaults = new CallPathRedisDefaults());
        builder.Services.AddHealthChecks().AddRedis(sp => sp.GetRequiredService<IConnectionMultiplexer>(),
            ConnectionName, HealthStatus.Unhealthy, ReadyTags, TimeSpan.FromSeconds(2));
        builder.Services.RemoveAll<ICallSessions>();
        builder.Services.AddSingleton<ICallSessions, RedisCallSessions>();
        return builder;
    }
}
