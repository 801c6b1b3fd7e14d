using Npgsql;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>Reads the database directly, so tests assert on what was really stored.</summary>
public static class Sql
{
    public static async Task<T?> ScalarAsync<T>(string connectionString, string sql, params object?[] args)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg ?? DBNull.Value });
        }
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public static async Task<long> CountAsync(string connectionString, string sql, params object?[] args) =>
        await ScalarAsync<long>(connectionString, sql, args);

    /// <summary>Polls until the condition holds or the timeout passes; returns whether it held.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(50);
        }
        return await condition();
    }
}
