using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentLocator.Data.Calls;

public static class CallTokenExtensions
{
    /// <summary>
    /// The per-call stream token, keyed by <c>MediaStream:TokenSecret</c>, else derived from
    /// <c>Twilio:AuthToken</c>: Api and MediaWorker must share it.
    /// </summary>
    public static IServiceCollection AddCallTokens(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(_ => new CallToken(SharedSecret.Resolve(configuration, "the per-call media stream tokens")));
        services.AddScoped<CallStore>();
        services.AddScoped<ConversationStore>();
        // Replaced by the Redis-backed sessions when ConnectionStrings:redis is configured.
        services.TryAddSingleton<ICallSessions, NoCallSessions>();
        return services;
    }
}
