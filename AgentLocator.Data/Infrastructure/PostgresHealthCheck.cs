using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace AgentLocator.Data.Infrastructure;

/// <summary>Readiness: Postgres answers <c>SELECT 1</c> and the schema has been migrated by this process.</summary>
internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, DatabaseState state) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy("postgres unreachable: " + ex.Message);
        }
        return state.Migrated
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("postgres reachable but migrations not applied yet");
    }
}
