using Npgsql;

namespace AgentLocator.AppHost.Postgres;

/// <summary>Healthy = a new connection opens and answers <c>SELECT 1</c>.</summary>
internal static class PostgresHealth
{
    public static async Task<string?> CheckAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 3 };
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            var result = await command.ExecuteScalarAsync(cancellationToken);
            return result is 1 ? null : $"SELECT 1 returned {result}";
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            return exception.Message;
        }
    }
}
