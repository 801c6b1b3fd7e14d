namespace AgentLocator.AppHost.Redis;

/// <summary>
/// A Redis-compatible server that DCP runs as an executable, for machines without a container runtime: the same name,
/// endpoint and <c>host:port</c> connection string as Aspire's <c>RedisResource</c>. It keeps nothing on disk: Redis holds
/// only what may be lost.
/// </summary>
public sealed class RedisExecutableResource(string name, RedisBinaries binaries)
    : ExecutableResource(name, binaries.Command, binaries.WorkingDirectory), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";

    public EndpointReference PrimaryEndpoint => new(this, PrimaryEndpointName);

    /// <summary>redis-server, or Garnet from the repository's tool manifest.</summary>
    public RedisBinaries Binaries { get; } = binaries;

    /// <summary>StackExchange.Redis's <c>host:port</c>; the server listens on 127.0.0.1 only.</summary>
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
}
