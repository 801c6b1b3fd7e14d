namespace AgentLocator.AppHost.Hosting;

/// <summary>A Redis-compatible server: external, a private <c>redis-server</c>, or embedded Garnet.</summary>
public sealed class RedisResource(string name) : Resource(name), IResourceWithConnectionString
{
    public string ConnectionStringName => Name;
}
