namespace AgentLocator.AppHost.Postgres;

/// <summary>
/// A PostgreSQL server that DCP runs as an executable, for machines without a container runtime: the same name,
/// endpoint, password parameter and connection string as Aspire's <c>PostgresServerResource</c>, so
/// <c>WithReference</c>/<c>WaitFor</c> behave alike. Its cluster is created by the run-once <c>{name}-init</c> resource.
/// </summary>
public sealed class PostgresExecutableResource(string name, string command, string workingDirectory, ParameterResource password, PostgresCluster cluster)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";

    /// <summary>The superuser the init resource creates (scram-sha-256, <see cref="PasswordParameter"/>).</summary>
    public const string UserName = "postgres";

    private readonly Dictionary<string, string> _databases = new(StringComparer.OrdinalIgnoreCase);

    public EndpointReference PrimaryEndpoint => new(this, PrimaryEndpointName);

    public ParameterResource PasswordParameter { get; } = password;

    /// <summary>The binaries, data folder and the user the server runs as.</summary>
    public PostgresCluster Cluster { get; internal set; } = cluster;

    /// <summary>Database resource name → database name, created once the server is ready.</summary>
    public IReadOnlyDictionary<string, string> Databases => _databases;

    /// <summary>The server listens on 127.0.0.1 only (no Unix socket): the endpoint's port, the generated password.</summary>
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create(
            $"Host=127.0.0.1;Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={UserName};Password={PasswordParameter}");

    internal void AddDatabase(string name, string databaseName) => _databases.TryAdd(name, databaseName);
}
