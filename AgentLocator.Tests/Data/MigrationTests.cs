using AgentLocator.Data.Infrastructure;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AgentLocator.Tests.Data;

public sealed class MigrationTests
{
    [Fact]
    public async Task TheModelHasNoChangeThatNoMigrationCovers()
    {
        // Fails when someone changes the model without `dotnet ef migrations add`.
        await using var db = TestDbContexts.Create("Host=unused;Database=unused");
        Assert.False(db.Database.HasPendingModelChanges(), "the EF model differs from the last migration's snapshot: add a migration");
    }

    [Fact]
    public async Task MigratedSchemaMatchesTheEfModelExactly()
    {
        var server = await PostgresServer.GetAsync();
        var fromModel = await server.CreateDatabaseAsync("model");
        var migrated = await server.CreateDatabaseAsync("migrated");
        await using (var db = TestDbContexts.Create(fromModel))
        {
            await db.Database.EnsureCreatedAsync();
        }

        var applied = await TestDbContexts.MigrateAsync(migrated);

        await using (var db = TestDbContexts.Create(migrated))
        {
            Assert.Equal(db.Database.GetMigrations(), applied);
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        }
        await AssertSameSchemaAsync(fromModel, migrated);
    }

    [Fact]
    public async Task ADatabaseBuiltByTheOldSqlRunnerIsAdoptedKeepingItsData()
    {
        var server = await PostgresServer.GetAsync();
        var legacy = await server.CreateDatabaseAsync("legacy");
        var fresh = await server.CreateDatabaseAsync("fresh");
        await ApplyLegacyScriptsAsync(legacy, DatabaseMigrator.LegacyScripts);
        await Execute(legacy, "INSERT INTO businesses (id, name, time_zone, max_recording_seconds, active, created_at, updated_at) " +
            "VALUES ('00000000-0000-0000-0000-000000000001', 'Legacy Ltd', 'Asia/Jerusalem', 120, true, now(), now())");

        var applied = await TestDbContexts.MigrateAsync(legacy);
        await TestDbContexts.MigrateAsync(fresh);

        await using var db = TestDbContexts.Create(legacy);
        var baseline = db.Database.GetMigrations().First();
        Assert.DoesNotContain(baseline, applied);
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.Equal("Legacy Ltd", (await db.Businesses.SingleAsync()).Name);
        await AssertSameSchemaAsync(fresh, legacy);

        // A second start finds nothing to do.
        Assert.Empty(await TestDbContexts.MigrateAsync(legacy));
    }

    [Fact]
    public async Task ADatabaseTheOldRunnerLeftHalfDoneIsRefusedNamingWhatItLacks()
    {
        var server = await PostgresServer.GetAsync();
        var partial = await server.CreateDatabaseAsync("partial");
        await ApplyLegacyScriptsAsync(partial, [DatabaseMigrator.LegacyScripts[0]]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestDbContexts.MigrateAsync(partial));

        Assert.Contains("0002_message_call", error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await Sql.ScalarAsync<long>(partial, "SELECT count(*) FROM pg_tables WHERE tablename = '__EFMigrationsHistory'"));
    }

    [Fact]
    public async Task SchemaSnapshotSeesADifferenceInNullability()
    {
        // The drift test is only worth something if the comparison notices a drifted column.
        var server = await PostgresServer.GetAsync();
        var a = await server.CreateDatabaseAsync("drift_a");
        var b = await server.CreateDatabaseAsync("drift_b");
        await Execute(a, "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL)");
        await Execute(b, "CREATE TABLE t (id int PRIMARY KEY, name text)");
        Assert.NotEqual((await SchemaSnapshot.ReadAsync(a)).Columns, (await SchemaSnapshot.ReadAsync(b)).Columns);
    }

    [Fact]
    public async Task ReplicasStartingAtOnceMigrateOnceWithoutErrors()
    {
        var server = await PostgresServer.GetAsync();
        var connectionString = await server.CreateDatabaseAsync("concurrent");

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => TestDbContexts.MigrateAsync(connectionString))));

        await using var db = TestDbContexts.Create(connectionString);
        var migrations = db.Database.GetMigrations().ToList();
        Assert.Equal(migrations, results.SelectMany(r => r));
        Assert.Equal(migrations.Count, await Sql.ScalarAsync<long>(connectionString, "SELECT count(*) FROM \"__EFMigrationsHistory\""));
    }

    private static async Task AssertSameSchemaAsync(string expectedDatabase, string actualDatabase)
    {
        var expected = await SchemaSnapshot.ReadAsync(expectedDatabase);
        var actual = await SchemaSnapshot.ReadAsync(actualDatabase);
        Assert.NotEmpty(expected.Columns);
        Assert.Equal(expected.Columns, actual.Columns);
        Assert.Equal(expected.Indexes, actual.Indexes);
        Assert.Equal(expected.Constraints, actual.Constraints);
    }

    /// <summary>What the previous release's runner did: each script in its own transaction, recorded in schema_migrations.</summary>
    private static async Task ApplyLegacyScriptsAsync(string connectionString, IEnumerable<string> scripts)
    {
        await Execute(connectionString,
            "CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamp with time zone NOT NULL DEFAULT now())");
        foreach (var id in scripts)
        {
            var sql = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Data", "LegacySchema", id + ".sql"));
            await Execute(connectionString, $"BEGIN; {sql}; INSERT INTO schema_migrations (id) VALUES ('{id}'); COMMIT;");
        }
    }

    private static async Task Execute(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>Tables, columns (type, nullability, default, identity), indexes and constraints of the public schema.</summary>
internal sealed record SchemaSnapshot(List<string> Columns, List<string> Indexes, List<string> Constraints)
{
    public static async Task<SchemaSnapshot> ReadAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var columns = await ReadAsync(connection, """
            SELECT table_name || '.' || column_name || ' ' || udt_name || ' null=' || is_nullable || ' identity=' || is_identity
                   || ' default=' || coalesce(column_default, '') || ' len=' || coalesce(character_maximum_length::text, '')
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name NOT IN ('schema_migrations', '__EFMigrationsHistory')
            ORDER BY table_name, column_name
            """);
        var indexes = await ReadAsync(connection, """
            SELECT indexname || ': ' || indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', '__EFMigrationsHistory')
            ORDER BY indexname
            """);
        var constraints = await ReadAsync(connection, """
            SELECT c.conrelid::regclass::text || '.' || c.conname || ': ' || pg_get_constraintdef(c.oid)
            FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE n.nspname = 'public' AND c.conrelid::regclass::text NOT IN ('schema_migrations', '"__EFMigrationsHistory"')
            ORDER BY 1
            """);
        return new SchemaSnapshot(columns, indexes, constraints);
    }

    private static async Task<List<string>> ReadAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        return rows;
    }
}
