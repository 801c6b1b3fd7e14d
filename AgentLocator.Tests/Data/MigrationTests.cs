using AgentLocator.Data.Infrastructure;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentLocator.Tests.Data;

public sealed class MigrationTests
{
    [Fact]
    public async Task MigratedSchemaMatchesTheEfModelExactly()
    {
        var server = await PostgresServer.GetAsync();
        var fromModel = await server.CreateDatabaseAsync("model");
        var migrated = await server.CreateDatabaseAsync("migrated");

        await using (var db = new AgentLocatorDbContext(new DbContextOptionsBuilder<AgentLocatorDbContext>().UseNpgsql(fromModel).Options))
        {
            await db.Database.EnsureCreatedAsync();
        }
        await using (var dataSource = NpgsqlDataSource.Create(migrated))
        {
            await new DatabaseMigrator(dataSource, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        }

        var expected = await SchemaSnapshot.ReadAsync(fromModel);
        var actual = await SchemaSnapshot.ReadAsync(migrated);
        Assert.NotEmpty(expected.Columns);
        Assert.Equal(expected.Columns, actual.Columns);
        Assert.Equal(expected.Indexes, actual.Indexes);
        Assert.Equal(expected.Constraints, actual.Constraints);
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
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            Task.Run(() => new DatabaseMigrator(dataSource, NullLogger<DatabaseMigrator>.Instance).MigrateAsync())));

        Assert.Equal(DatabaseMigrator.LoadScripts().Count, results.Sum(r => r.Count));
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM schema_migrations");
        Assert.Equal((long)DatabaseMigrator.LoadScripts().Count, (long)(await command.ExecuteScalarAsync())!);
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
