namespace AgentLocator.AppHost.Hosting;

public static class RedisBuilderExtensions
{
    /// <summary>Adds a Redis server; how it is provided follows <c>AppHost:Redis:Mode</c>.</summary>
    public static IResourceBuilder<RedisResource> AddRedis(this DistributedApplicationBuilder builder, string name) =>
        builder.AddResource(new RedisResource(name));
}
