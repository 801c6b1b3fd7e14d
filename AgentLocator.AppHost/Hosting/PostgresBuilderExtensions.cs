namespace AgentLocator.AppHost.Hosting;

public static class PostgresBuilderExtensions
{
    /// <summary>Adds a PostgreSQL server; how it is provided follows <c>AppHost:Postgres:Mode</c>.</summary>
    public static IResourceBuilder<PostgresServerResource> AddPostgres(this DistributedApplicationBuilder builder, string name) =>
        builder.AddResource(new PostgresServerResource(name));

    /// <summary>Keeps the server's data under <c>AppHost:DataDir</c> across runs (unless <c>AppHost:Ephemeral</c>).</summary>
    public static IResourceBuilder<PostgresServerResource> WithDataVolume(this IResourceBuilder<PostgresServerResource> builder)
    {
        builder.Resource.PersistentData = true;
        return builder;
    }

    /// <summary>Adds a database, created on first start; its name is also its connection string name.</summary>
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<PostgresServerResource> builder, string name, string? databaseName = null)
    {
        var database = new PostgresDatabaseResource(name, databaseName ?? name, builder.Resource);
        database.WaitsFor.Add(builder.Resource);
        builder.Resource.Databases.Add(database);
        return builder.ApplicationBuilder.AddResource(database);
    }
}
