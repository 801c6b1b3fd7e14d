using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.AppHost.Redis;

/// <summary><c>AddRedisExecutable</c>: Aspire.Hosting.Redis's shape for a server DCP runs as an executable.</summary>
public static class RedisExecutableBuilderExtensions
{
    public static IResourceBuilder<RedisExecutableResource> AddRedisExecutable(
        this IDistributedApplicationBuilder builder, [ResourceName] string name, RedisBinaries binaries, int? port = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var redis = new RedisExecutableResource(name, binaries);

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(redis, async (_, cancellationToken) =>
            connectionString = await redis.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false));

        // PING through StackExchange.Redis, as Aspire's own Redis resource is checked.
        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddRedis(
            _ => connectionString ?? throw new InvalidOperationException("Connection string is unavailable"), name: healthCheckKey);

        return builder.AddResource(redis)
            .WithEndpoint(port: port, targetPort: port, name: RedisExecutableResource.PrimaryEndpointName, isProxied: false)
            .WithArgs(async context =>
            {
                var port = redis.PrimaryEndpoint.Property(EndpointProperty.TargetPort);
                var arguments = binaries.IsGarnet
                    ? new object[]
                    {
                        await GarnetTool.ResolveAsync(binaries.WorkingDirectory, context.Logger, context.CancellationToken).ConfigureAwait(false),
                        "--port", port, "--bind", "127.0.0.1", "--memory", "256m", "--index", "16m",
                        // EVAL needs Lua enabled in Garnet.
                        "--lua",
                    }
                    : ["--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
                foreach (var argument in arguments)
                {
                    context.Args.Add(argument);
                }
            })
            .WithIconName("Memory")
            .WithHealthCheck(healthCheckKey);
    }
}
