using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Orchestration;
using Npgsql;

namespace AgentLocator.AppHost.Postgres;

/// <summary>A database on the server: created if missing (local/embedded), taken as given (external).</summary>
internal sealed class PostgresDatabaseLifecycle(AppHostContext context, PostgresDatabaseResource resource) : ResourceLifecycle(context)
{
    public override Resource Resource => resource;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = (PostgresServerLifecycle)Context.LifecycleOf(resource.Parent);
        Mode = server.Mode;
        if (server.Mode == "external")
        {
            ConnectionString = Context.Configuration[$"ConnectionStrings:{resource.ConnectionStringName}"] ?? server.ServerConnectionString;
            return;
        }

        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server.ServerConnectionString) { Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
            exists.Parameters.Add(new NpgsqlParameter { Value = resource.DatabaseName });
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                Log($"Creating database '{resource.DatabaseName}'");
                var quoted = "\"" + resource.DatabaseName.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
                await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        ConnectionString = server.BuildConnectionString(resource.DatabaseName);
    }

    public override Task<string?> CheckHealthAsync(CancellationToken cancellationToken) =>
        PostgresHealth.CheckAsync(ConnectionString!, cancellationToken);
}
