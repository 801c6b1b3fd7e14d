using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentLocator.Redis;

/// <summary>The "redis" readiness check: PING with a short timeout. Fails fast while the client is reconnecting.</summary>
public sealed class RedisHealthCheck(IRedisClient redis) : IHealthCheck
{
    public const string Name = "redis";

    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var roundTrip = await redis.PingAsync(PingTimeout, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"PING answered in {roundTrip.TotalMilliseconds:0.0} ms.");
        }
        catch (RedisException ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, ex.Message, ex);
        }
    }
}
