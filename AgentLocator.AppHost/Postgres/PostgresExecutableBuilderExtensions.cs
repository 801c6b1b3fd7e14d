using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentLocator.AppHost.Postgres;

/// <summary>
/// <c>AddPostgresExecutable</c> / <c>WithDataDirectory</c> / <c>AddDatabase</c>: Aspire.Hosting.PostgreSQL's shape for a server
/// DCP runs as an executable. The run-once <c>{name}-init</c> resource installs the binaries (embedded) and creates the
/// cluster; the server waits for it to complete, is healthy when <c>SELECT 1</c> answers, and then creates its databases.
/// </summary>
public static class PostgresExecutableBuilderExtensions
{
    private static string ScriptsDirectory => Path.Combine(AppContext.BaseDirectory, "Postgres");

    public static IResourceBuilder<PostgresExecutableResource> AddPostgresExecutable(
        this IDistributedApplicationBuilder builder, [ResourceName] string name, PostgresBinaries binaries, int? port = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);

        // Throw-away data by default, as Aspire's container without a data volume; WithDataDirectory keeps it.
        var temporaryRoot = Path.Combine(Path.GetTempPath(), $"agentlocator-{name}-{Guid.NewGuid():N}"[..30]);
        var cluster = new PostgresCluster(binaries, temporaryRoot, UnixUser.ForServer(), Durable: false);
        PostgresExecutableResource? server = null;
        var password = new ParameterResource($"{name}-password", _ => server!.Cluster.ReadOrCreatePassword(), secret: true);
        server = new PostgresExecutableResource(name, "/bin/sh", ScriptsDirectory, password, cluster);

        var init = builder.AddExecutable($"{name}-init", "/bin/sh", ScriptsDirectory, Path.Combine(ScriptsDirectory, "init-cluster.sh"))
            .WithEnvironment(context =>
            {
                var current = server.Cluster;
                context.EnvironmentVariables["PGBIN"] = current.Binaries.BinDirectory;
                context.EnvironmentVariables["PGROOT"] = current.Root;
                context.EnvironmentVariables["PGDATA"] = current.DataDirectory;
                context.EnvironmentVariables["POSTGRES_PASSWORD"] = server.PasswordParameter;
                context.EnvironmentVariables["RUN_AS"] = current.RunAs?.Name ?? "";
                context.EnvironmentVariables["EMBEDDED_PREFIX"] = current.Binaries.EmbeddedPrefix ?? "";
                context.EnvironmentVariables["EMBEDDED_PACKAGE"] = current.Binaries.EmbeddedPackage ?? "";
                context.EnvironmentVariables["PGTEMPLATES"] = current.TemplatesDirectory ?? "";
            })
            .WithParentRelationship(server);

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(server, async (_, cancellationToken) =>
            connectionString = await server.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false));
        builder.Eventing.Subscribe<ResourceReadyEvent>(server, async (@event, cancellationToken) =>
            await CreateDatabasesAsync(server, connectionString!, @event.Services, cancellationToken).ConfigureAwait(false));

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(
            _ => connectionString ?? throw new InvalidOperationException("Connection string is unavailable"),
            name: healthCheckKey,
            configure: connection => connection.ConnectionString += ";Database=postgres");

        return builder.AddResource(server)
            .WithEndpoint(port: port, targetPort: port, name: PostgresExecutableResource.PrimaryEndpointName, isProxied: false)
            .WithArgs(context =>
            {
                var current = server.Cluster;
                context.Args.Add(Path.Combine(ScriptsDirectory, "run-server.sh"));
                if (current.RunAs is { } user)
                {
                    // setpriv execs Postgres in its place: no process in between to forward signals.
                    foreach (var argument in new[] { "setpriv", "--reuid", $"{user.Uid}", "--regid", $"{user.Gid}", "--init-groups", "--" })
                    {
                        context.Args.Add(argument);
                    }
                }

                foreach (var argument in new object[]
                {
                    current.Binaries.Postgres, "-D", current.DataDirectory,
                    "-p", server.PrimaryEndpoint.Property(EndpointProperty.TargetPort),
                    "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                })
                {
                    context.Args.Add(argument);
                }

                if (!current.Durable)
                {
                    // Throw-away data: trade durability for speed.
                    foreach (var argument in new[] { "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off" })
                    {
                        context.Args.Add(argument);
                    }
                }
            })
            .WithIconName("DatabaseMultiple")
            .WaitForCompletion(init)
            .WithHealthCheck(healthCheckKey);
    }

    /// <summary>Keeps the cluster (and its password) in <paramref name="path"/>, across runs when <paramref name="durable"/>.</summary>
    public static IResourceBuilder<PostgresExecutableResource> WithDataDirectory(
        this IResourceBuilder<PostgresExecutableResource> builder, string path, bool durable = true)
    {
        builder.Resource.Cluster = builder.Resource.Cluster with { Root = Path.GetFullPath(path), Durable = durable };
        return builder;
    }

    /// <summary>
    /// A new cluster is a copy of a template in <paramref name="path"/> instead of a fresh <c>initdb</c> (seconds of CPU on the
    /// graph's start path; the copy and setting its password take a fraction). The first new cluster leaves the template, one
    /// per binaries' version and folder, server user and initdb options (init-cluster.sh).
    /// </summary>
    public static IResourceBuilder<PostgresExecutableResource> WithClusterTemplates(
        this IResourceBuilder<PostgresExecutableResource> builder, string path)
    {
        builder.Resource.Cluster = builder.Resource.Cluster with { TemplatesDirectory = Path.GetFullPath(path) };
        return builder;
    }

    /// <summary>A database created on the server once it is ready; its connection string adds <c>Database=</c>.</summary>
    public static IResourceBuilder<PostgresExecutableDatabaseResource> AddDatabase(
        this IResourceBuilder<PostgresExecutableResource> builder, [ResourceName] string name, string? databaseName = null)
    {
        var database = new PostgresExecutableDatabaseResource(name, databaseName ?? name, builder.Resource);
        builder.Resource.AddDatabase(database.Name, database.DatabaseName);

        string? connectionString = null;
        builder.ApplicationBuilder.Eventing.Subscribe<ConnectionStringAvailableEvent>(database, async (_, cancellationToken) =>
            connectionString = await database.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false));
        // DCP gives executables' children no state of their own (containers' children follow their parent): mirror the server's end.
        builder.ApplicationBuilder.Eventing.Subscribe<ResourceStoppedEvent>(database, async (@event, _) =>
            await @event.Services.GetRequiredService<ResourceNotificationService>()
                .PublishUpdateAsync(database, state => state with { State = @event.ResourceEvent.Snapshot.State })
                .ConfigureAwait(false));

        var healthCheckKey = $"{name}_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().AddNpgSql(
            _ => connectionString ?? throw new InvalidOperationException("Connection string is unavailable"), name: healthCheckKey);

        return builder.ApplicationBuilder.AddResource(database)
            .WithIconName("Database")
            .WithHealthCheck(healthCheckKey);
    }

    private static async Task CreateDatabasesAsync(
        PostgresExecutableResource server, string connectionString, IServiceProvider services, CancellationToken cancellationToken)
    {
        var logger = services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
        var notifications = services.GetRequiredService<ResourceNotificationService>();
        var model = services.GetRequiredService<DistributedApplicationModel>();
        await using var connection = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var database in model.Resources.OfType<PostgresExecutableDatabaseResource>().Where(d => d.Parent == server))
        {
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
            exists.Parameters.Add(new NpgsqlParameter { Value = database.DatabaseName });
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                logger.LogInformation("Creating database '{DatabaseName}'", database.DatabaseName);
                await using var create = new NpgsqlCommand(
                    $"CREATE DATABASE {new NpgsqlCommandBuilder().QuoteIdentifier(database.DatabaseName)}", connection);
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // The database exists: it runs while the server does, and its own health check decides when it is healthy.
            await notifications.PublishUpdateAsync(database, state => state with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
            }).ConfigureAwait(false);
        }
    }
}
