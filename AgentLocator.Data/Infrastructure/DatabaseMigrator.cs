using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Data.Infrastructure;

/// <summary>
/// Applies the EF Core migrations (<c>Infrastructure/Migrations</c>, made with <c>dotnet ef migrations add</c>).
/// Several replicas may start at once: a session-level advisory lock lets one migrate while the others
/// wait. A database built by the hand-written SQL runner this replaced (its <c>schema_migrations</c>
/// lists every script the baseline stands for) is adopted: the baseline is recorded as applied, not run.
/// It runs without the retrying execution strategy: a failed attempt fails at once (a start-up with the
/// database down is not held for a minute of retries), and its caller retries the whole migration.
/// </summary>
public sealed partial class DatabaseMigrator(DbContextOptions<AgentLocatorDbContext> options, ILogger<DatabaseMigrator> logger)
{
    /// <summary>An arbitrary constant shared by every replica: "AgentLoc" as ASCII (the old runner's key too).</summary>
    private const long AdvisoryLockKey = 0x4167656E744C6F63;

    /// <summary>
    /// The scripts the old runner recorded in <c>schema_migrations</c>, whose schema the baseline migration
    /// builds exactly (the drift test proves it).
    /// </summary>
    public static readonly IReadOnlyList<string> LegacyScripts = ["0001_initial", "0002_message_call"];

    /// <summary>Migrates the database; returns the migrations this call applied (none when another replica did).</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var db = new AgentLocatorDbContext(new DbContextOptionsBuilder<AgentLocatorDbContext>(options)
            .UseNpgsql(npgsql => npgsql.ExecutionStrategy(dependencies => new NonRetryingExecutionStrategy(dependencies)))
            .Options);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
            try
            {
                await AdoptLegacySchemaAsync(db, cancellationToken);
                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
                await db.Database.MigrateAsync(cancellationToken);
                foreach (var id in pending)
                {
                    LogApplied(logger, id);
                }
                return pending;
            }
            finally
            {
                await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// Records the baseline as applied on a database the old runner built completely, so EF starts from
    /// it. A database it built only in part is refused with the scripts it lacks: nothing is guessed.
    /// </summary>
    private async Task AdoptLegacySchemaAsync(AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var hasLegacyTable = await db.Database
            .SqlQueryRaw<bool>("""SELECT to_regclass('public.schema_migrations') IS NOT NULL AS "Value" """)
            .SingleAsync(cancellationToken);
        if (!hasLegacyTable || (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).Any())
        {
            return;
        }
        var applied = await db.Database.SqlQueryRaw<string>("""SELECT id AS "Value" FROM schema_migrations""").ToListAsync(cancellationToken);
        var missing = LegacyScripts.Except(applied, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"This database was migrated by the previous release's SQL runner but lacks {string.Join(", ", missing)}: " +
                "run the previous release once so it finishes its migrations, then start this one.");
        }
        var baseline = db.Database.GetMigrations().First();
        // EF's own scripts for its history table; one batch, so both happen or neither does.
        var history = db.GetService<IHistoryRepository>();
        var adopt = history.GetCreateIfNotExistsScript() + "\n" + history.GetInsertScript(new HistoryRow(baseline, ProductInfo.GetVersion()));
        await db.Database.ExecuteSqlRawAsync(adopt, cancellationToken);
        LogAdopted(logger, baseline, string.Join(", ", LegacyScripts));
    }

    [LoggerMessage(EventId = 2001, EventName = "MIGRATION_APPLIED", Level = LogLevel.Information, Message = "MIGRATION_APPLIED {MigrationId}")]
    private static partial void LogApplied(ILogger logger, string migrationId);

    [LoggerMessage(EventId = 2003, EventName = "MIGRATION_BASELINE_ADOPTED", Level = LogLevel.Information,
        Message = "MIGRATION_BASELINE_ADOPTED {MigrationId} recorded as applied: the schema was built by the SQL scripts {Scripts}")]
    private static partial void LogAdopted(ILogger logger, string migrationId, string scripts);
}
