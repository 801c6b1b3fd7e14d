using System.Reflection;
using AgentLocator.Data.Sessions;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Web.Live;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace AgentLocator.Tests.Sessions;

/// <summary>
/// Every multiplexer the services build does its socket I/O on the .NET thread pool
/// (<see cref="SocketManager.ThreadPool"/>), not on StackExchange.Redis's own dedicated threads, whose idle
/// workers spin for work and took about half the Api's CPU under webhook load.
/// </summary>
public sealed class RedisSocketManagerTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task TheApiTheMediaWorkerAndTheWebAppRunTheirRedisSocketsOnTheThreadPool()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("sockets");
        var withRedis = new Dictionary<string, string?> { ["ConnectionStrings:redis"] = redis.ConnectionString, ["Jobs:Enabled"] = "false" };
        await using var api = ApiTestHost.Create(database, extra: withRedis);
        await using var worker = MediaWorkerTestHost.Create(database, extra: withRedis);
        await using var web = new ServiceFactory<LiveCalls>("Development", new Dictionary<string, string?>
        {
            ["ConnectionStrings:agentlocator"] = database,
            ["ConnectionStrings:redis"] = redis.ConnectionString,
        });

        foreach (var (service, services) in new[] { ("api", api.Services), ("mediaworker", worker.Services), ("web", web.Services) })
        {
            var multiplexer = services.GetRequiredService<IConnectionMultiplexer>();
            Assert.True(SocketManagerOf(multiplexer) == SocketManager.ThreadPool, $"{service}'s multiplexer runs on {SocketManagerOf(multiplexer)}");
            Assert.True(await multiplexer.GetDatabase().PingAsync() < TimeSpan.FromSeconds(5), $"{service}'s multiplexer does not answer");
        }
    }

    [Fact]
    public async Task AMultiplexerConnectedWithoutTheCallPathOptionsRunsOnDedicatedThreads()
    {
        // The control: without CallPathRedisDefaults.Apply this StackExchange.Redis picks its own scheduler, so the test above can fail.
        await using var plain = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.NotNull(SocketManagerOf(plain));
        Assert.NotSame(SocketManager.ThreadPool, SocketManagerOf(plain));

        var options = ConfigurationOptions.Parse(redis.ConnectionString);
        CallPathRedisDefaults.Apply(options);
        await using var applied = await ConnectionMultiplexer.ConnectAsync(options);
        Assert.Same(SocketManager.ThreadPool, SocketManagerOf(applied));
    }

    /// <summary>
    /// The manager a connected multiplexer runs on. StackExchange.Redis keeps it in an internal property (its public
    /// configuration string leaves it out); a rename in a later version fails here rather than passing silently.
    /// </summary>
    private static SocketManager? SocketManagerOf(IConnectionMultiplexer multiplexer)
    {
        var property = typeof(ConnectionMultiplexer).GetProperty("SocketManager", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("ConnectionMultiplexer no longer has an internal SocketManager property: update this test.");
        return (SocketManager?)property.GetValue(Assert.IsType<ConnectionMultiplexer>(multiplexer));
    }
}
