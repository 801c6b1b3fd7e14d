using AgentLocator.Redis;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Redis;

public class RedisAuthenticationTests
{
    private static readonly string Prefix = RedisServerFixture.NewKeyPrefix(nameof(RedisAuthenticationTests));

    [Theory]
    [InlineData(RedisServerKind.Redis, "")]
    [InlineData(RedisServerKind.Redis, ",protocol=resp3")]
    [InlineData(RedisServerKind.Garnet, "")]
    public async Task PasswordFromTheConnectionStringAuthenticates(RedisServerKind kind, string protocol)
    {
        await using var server = await RedisServer.StartAsync(kind, password: "s3cret-pw");
        await using var client = new RedisClient(server.ConnectionString + protocol);

        Assert.True(await client.SetAsync(Prefix + "auth", "ok"));
        Assert.Equal("ok", await client.GetAsync(Prefix + "auth"));
    }

    [Fact]
    public async Task WrongPasswordFailsWithAConnectionErrorNamingTheRejection()
    {
        await using var server = await RedisServer.StartAsync(password: "right");
        await using var client = new RedisClient($"127.0.0.1:{server.Port},password=wrong,connectTimeout=2000");

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => client.GetAsync(Prefix + "x"));

        Assert.Contains("rejected", error.Message);
        Assert.DoesNotContain("wrong", error.Message.Replace("WRONGPASS", "", StringComparison.Ordinal));
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task MissingPasswordIsReportedOnTheCommand()
    {
        await using var server = await RedisServer.StartAsync(password: "right");
        await using var client = new RedisClient($"127.0.0.1:{server.Port}");

        var error = await Assert.ThrowsAsync<RedisServerException>(() => client.GetAsync(Prefix + "x"));
        Assert.Contains("NOAUTH", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(",protocol=resp3")]
    public async Task AclUserAndPasswordAuthenticate(string protocol)
    {
        await using var server = await RedisServer.StartAsync(RedisServerKind.Redis, null,
            "--user", "alice", "on", ">alice-pw", "~*", "&*", "+@all", "--user", "default", "off");
        await using var client = new RedisClient($"127.0.0.1:{server.Port},user=alice,password=alice-pw{protocol}");

        Assert.True(await client.SetAsync(Prefix + "acl", "alice"));
        Assert.Equal("alice", (await client.ExecuteAsync("ACL", "WHOAMI")).AsString());
    }

    [Fact]
    public async Task DefaultDatabaseSelectsTheDatabaseForEveryConnection()
    {
        await using var server = await RedisServer.StartAsync();
        await using var db3 = new RedisClient(server.ConnectionString + ",defaultDatabase=3");
        await using var db0 = new RedisClient(server.ConnectionString);

        await db3.SetAsync(Prefix + "db", "three");

        Assert.Equal("three", await db3.GetAsync(Prefix + "db"));
        Assert.Null(await db0.GetAsync(Prefix + "db"));
        Assert.Contains("db=3", (await db3.ExecuteAsync("CLIENT", "INFO")).AsString());

        await server.RestartAsync();
        await RedisClientCommandTests.WaitUntilAsync(async () =>
        {
            try
            {
                return await db3.SetAsync(Prefix + "db-after", "x");
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15));
        // Each client reconnects on its own schedule (and fails fast until it has).
        using (var reconnect = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            await db0.WaitUntilConnectedAsync(reconnect.Token);
        }
        Assert.Null(await db0.GetAsync(Prefix + "db-after"));
        Assert.Contains("db=3", (await db3.ExecuteAsync("CLIENT", "INFO")).AsString());
    }

    [Fact]
    public async Task ClientNameIsSentAndAServerThatRejectsItIsTolerated()
    {
        await using var server = await RedisServer.StartAsync(RedisServerKind.Redis, null, "--rename-command", "CLIENT", "\"\"");
        await using var named = new RedisClient(server.ConnectionString + ",name=api-replica-1");

        // CLIENT is disabled on this server, so SETNAME fails during the handshake; the connection still works.
        Assert.True(await named.SetAsync(Prefix + "named", "yes"));
        Assert.Equal("yes", await named.GetAsync(Prefix + "named"));
        await Assert.ThrowsAsync<RedisServerException>(() => named.ExecuteAsync("CLIENT", "GETNAME"));

        await using var normal = await RedisServer.StartAsync();
        await using var client = new RedisClient(normal.ConnectionString + ",name=api-replica-1");
        Assert.Equal("api-replica-1", (await client.ExecuteAsync("CLIENT", "GETNAME")).AsString());
    }
}
