using AgentLocator.Data.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>Contexts configured as the services configure them (Npgsql with the retrying execution strategy).</summary>
public static class TestDbContexts
{
    public static DbContextOptions<AgentLocatorDbContext> Options(string connectionString) =>
        new DbContextOptionsBuilder<AgentLocatorDbContext>().UseNpgsql(connectionString, npgsql =>
            npgsql.EnableRetryOnFailure(DataExtensions.MaxRetryCount, DataExtensions.MaxRetryDelay, errorCodesToAdd: null)).Options;

    public static AgentLocatorDbContext Create(string connectionString) => new(Options(connectionString));

    /// <summary>Applies the EF migrations as a service does at start; returns the ones applied.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString)
    {
        return await new DatabaseMigrator(Options(connectionString), NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
    }
}
