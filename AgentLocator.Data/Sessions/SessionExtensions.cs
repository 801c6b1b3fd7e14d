using AgentLocator.Data.Calls;
using AgentLocator.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace AgentLocator.Data.Sessions;

public static class SessionExtensions
{
    /// <summary>
    /// Live call sessions in Redis when <c>ConnectionStrings:redis</c> is set (with the <c>redis</c>
    /// readiness check); otherwise nothing is shared and the services run on what each request carries.
    /// </summary>
    public static IHostApplicationBuilder AddCallSessions(this IHostApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("redis")))
        {
            builder.Services.TryAddSingleton<ICallSessions, NoCallSessions>();
            return builder;
        }
        builder.AddRedisClient();
        builder.Services.AddSingleton<RedisCallSessions>();
        builder.Services.RemoveAll<ICallSessions>();
        builder.Services.AddSingleton<ICallSessions>(sp => sp.GetRequiredService<RedisCallSessions>());
        return builder;
    }
}
