using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

public static class DataExtensions
{
    public const string ConnectionName = "agentlocator";

    /// <summary>How often and how far apart the execution strategy retries a transient failure.</summary>
    public const int MaxRetryCount = 3;

    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Tags of the <c>postgres</c> check; <c>/readyz</c> runs the checks tagged "ready".</summary>
    private static readonly string[] ReadyTags = ["ready"];

    /// <summary>
    /// Postgres through Aspire's EF Core integration (<c>ConnectionStrings:agentlocator</c>): a pooled
    /// <see cref="AgentLocatorDbContext"/> with the retrying execution strategy, Npgsql traces and metrics;
    /// the EF migrations applied at start (<c>Database:MigrateOnStartup</c>); the readiness check named
    /// <c>postgres</c>; and the durable job queue. Migrating does not compare the model with the last migration's
    /// snapshot (EF builds two more models and diffs them, about half a second of CPU on every start of every service):
    /// <c>MigrationTests.TheModelHasNoChangeThatNoMigrationCovers</c> does, before anything ships.
    /// </summary>
    public static IHostApplicationBuilder AddAgentLocatorData(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"Missing connection string 'ConnectionStrings:{ConnectionName}' (environment variable ConnectionStrings__{ConnectionName}).");
        }
        var retry = true;
        builder.AddNpgsqlDbContext<AgentLocatorDbContext>(ConnectionName,
            settings =>
            {
                settings.ConnectionString = FailFast(connectionString);
                settings.CommandTimeout ??= 15;
                // Replaced below by the same EF check under the name operators know, gated on migrations.
                settings.DisableHealthChecks = true;
                retry = !settings.DisableRetry;
            },
            options =>
            {
                options.ConfigureWarnings(warnings => warnings.Ignore(RelationalEventId.PendingModelChangesWarning));
                if (retry)
                {
                    // Retries ride out a blip (a failover, a dropped connection), not an outage: a live call
                    // or a webhook has its own fallback and must not wait Aspire's default minute for it.
                    options.UseNpgsql(npgsql => npgsql.EnableRetryOnFailure(MaxRetryCount, MaxRetryDelay, errorCodesToAdd: null));
                }
            });

        var state = new DatabaseState();
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton<DatabaseMigrator>();
        if (builder.Configuration.GetValue("Database:MigrateOnStartup", true))
        {
            builder.Services.AddHostedService<MigrationHostedService>();
        }
        else
        {
            state.MarkMigrated();
        }
        builder.Services.AddHealthChecks().AddDbContextCheck<AgentLocatorDbContext>("postgres", HealthStatus.Unhealthy, ReadyTags,
            customTestQuery: (db, cancellationToken) => state.IsReadyAsync(db, cancellationToken));
        builder.Services.AddJobQueue(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Unless the connection string says otherwise: a 3 s connect timeout, as callers (webhooks) have their own
    /// fallbacks and must learn quickly that the database is gone; and no reset of a pooled connection's session
    /// state when it goes back to the pool (Npgsql's DISCARD ALL, or five statements when it holds prepared ones,
    /// sent with the next command): nothing here changes session state (no SET, LISTEN, temporary tables; the
    /// migrations' advisory lock is unlocked explicitly), so the reset was work Postgres did on every webhook for nothing.
    /// </summary>
    private static string FailFast(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            builder.Timeout = 3;
        }
        if (!connectionString.Contains("Reset", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }
        return builder.ConnectionString;
    }
}
