namespace AgentLocator.AppHost.Hosting;

/// <summary>A PostgreSQL server: external, a private local instance, or embedded binaries from npm.</summary>
public sealed class PostgresServerResource(string name) : Resource(name)
{
    /// <summary>True when <c>WithDataVolume</c> asked for data that outlives the run (under <c>AppHost:DataDir</c>).</summary>
    public bool PersistentData { get; internal set; }

    public List<PostgresDatabaseResource> Databases { get; } = [];
}

/// <summary>A database on a <see cref="PostgresServerResource"/>; its name is the connection string name.</summary>
public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource parent)
    : Resource(name), IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;

    public PostgresServerResource Parent { get; } = parent;

    public string ConnectionStringName => Name;
}
