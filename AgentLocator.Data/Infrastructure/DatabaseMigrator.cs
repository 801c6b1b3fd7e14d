using System.Reflection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentLocator.Data.Infrastructure;

/// <summary>
/// Applies the hand-written SQL migrations embedded under <c>Migrations/</c> in name order.
/// The EF Core Design package does not restore here, so there is no <c>dotnet ef</c>; the
/// drift test proves these scripts build the same schema as the EF model. Several replicas
/// may start at once: a session-level advisory lock lets one migrate while the others wait,
/// and each script runs in its own transaction with its row in <c>schema_migrations</c>.
/// </summary>
public sealed partial class DatabaseMigrator(NpgsqlDataSource dataSource, ILogger<DatabaseMigrator> logger)
{
    /// <summary>An arbitrary constant shared by every replica: "AgentLoc" as ASCII.</summary>
    private const long AdvisoryLockKey = 0x4167656E744C6F63;

    public static IReadOnlyList<(string Id, string Sql)> LoadScripts()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        const string prefix = "AgentLocator.Data.Migrations.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (n[prefix.Length..^".sql".Length], Read(assembly, n)))
            .ToList();
    }

    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(connection,
                "CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamp with time zone NOT NULL DEFAULT now())",
                cancellationToken);
            var applied = new HashSet<string>(StringComparer.Ordinal);
            await using (var command = new NpgsqlCommand("SELECT id FROM schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            var newlyApplied = new List<string>();
            foreach (var (id, sql) in LoadScripts().Where(s => !applied.Contains(s.Id)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using (var command = new NpgsqlCommand(sql, connection, transaction))
                {
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                await using (var command = new NpgsqlCommand("INSERT INTO schema_migrations (id) VALUES ($1)", connection, transaction))
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = id });
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                await transaction.CommitAsync(cancellationToken);
                LogApplied(logger, id);
                newlyApplied.Add(id);
            }
            return newlyApplied;
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LoggerMessage(EventId = 2001, EventName = "MIGRATION_APPLIED", Level = LogLevel.Information, Message = "MIGRATION_APPLIED {MigrationId}")]
    private static partial void LogApplied(ILogger logger, string migrationId);
}
