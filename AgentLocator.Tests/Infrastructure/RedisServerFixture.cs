namespace AgentLocator.Tests.Infrastructure;

/// <summary>
/// xUnit fixture owning one private redis-server for a test class (<c>IClassFixture&lt;RedisServerFixture&gt;</c>).
/// Tests share the server, so each uses its own key prefix (<see cref="NewKeyPrefix"/>). Tests that restart
/// or reconfigure a server start their own with <see cref="RedisServer.StartAsync(RedisServerKind, string?, string[])"/>.
/// </summary>
public class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    protected virtual RedisServerKind Kind => RedisServerKind.Redis;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The Redis fixture has not started.");

    /// <summary><c>127.0.0.1:PORT</c>, what ConnectionStrings__redis would hold.</summary>
    public string ConnectionString => Server.ConnectionString;

    public int Port => Server.Port;

    /// <summary>A key prefix no other test uses: <c>test:{name}:{guid}:</c>.</summary>
    public static string NewKeyPrefix(string testName) => $"test:{testName}:{Guid.NewGuid():N}:";

    /// <summary>Kills the server (a crash, not a shutdown).</summary>
    public void Stop() => Server.Stop();

    /// <summary>Starts it again on the same port.</summary>
    public Task StartAsync() => Server.StartAsync();

    public async Task InitializeAsync() => _server = await RedisServer.StartAsync(Kind);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The same fixture backed by Garnet (<c>dotnet tool restore</c> first).</summary>
public sealed class RedisGarnetServerFixture : RedisServerFixture
{
    protected override RedisServerKind Kind => RedisServerKind.Garnet;
}
