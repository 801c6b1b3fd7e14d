using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

public static class DataExtensions
{
    public const string ConnectionName = "agentlocator";

    /// <summary>
    /// Postgres through one <see cref="NpgsqlDataSource"/> (connection string
    /// <c>ConnectionStrings:agentlocator</c>), the EF Core context, start-up migrations,
    /// the readiness check named <c>postgres</c>, and the durable job queue.
    /// </summary>
    public static IHostApplicationBuilder AddAgentLocatorData(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"Missing connection string 'ConnectionStrings:{ConnectionName}' (environment variable ConnectionStrings__{ConnectionName}).");
        }
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        // Fail fast when the database is gone: callers (webhooks) have their own fallbacks.
        if (!connectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            csb.Timeout = 3;
        }
        var dataSource = new NpgsqlDataSourceBuilder(csb.ConnectionString).Build();
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddDbContext<AgentLocatorDbContext>((sp, options) => options.UseNpgsql(dataSource, npgsql => npgsql.CommandTimeout(15)));
        builder.Services.AddSingleton<DatabaseState>();
        builder.Services.AddSingleton<DatabaseMigrator>();
        if (builder.Configuration.GetValue("Database:MigrateOnStartup", true))
        {
            builder.Services.AddHostedService<MigrationHostedService>();
        }
        else
        {
            builder.Services.AddSingleton<DatabaseState>(_ => { var s = new DatabaseState(); s.MarkMigrated(); return s; });
        }
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", HealthStatus.Unhealthy, ["ready"] /* HealthEndpoints.ReadyTag */, TimeSpan.FromSeconds(3));
        builder.Services.AddJobQueue(builder.Configuration);
        return builder;
    }
}
