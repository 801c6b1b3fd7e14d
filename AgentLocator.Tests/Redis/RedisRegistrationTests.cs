using AgentLocator.AppHost.Processes;
using AgentLocator.Redis;
using AgentLocator.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentLocator.Tests.Redis;

public class RedisRegistrationTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix(nameof(RedisRegistrationTests));

    [Fact]
    public async Task ConnectionStringFromConfigurationRegistersAWorkingClientAndAHealthyCheck()
    {
        await using var provider = BuildProvider(redis.ConnectionString);

        var client = provider.GetRequiredService<IRedisClient>();
        Assert.Same(client, provider.GetRequiredService<RedisClient>());
        await client.SetAsync(_prefix + "di", "resolved");
        Assert.Equal("resolved", await client.GetAsync(_prefix + "di"));

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var entry = report.Entries[RedisHealthCheck.Name];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Contains("PING", entry.Description);
        Assert.Contains("ready", entry.Tags);
    }

    [Fact]
    public async Task HealthCheckIsUnhealthyQuicklyWhileRedisIsDown()
    {
        await using var provider = BuildProvider($"127.0.0.1:{PortOwners.GetFreePort()},connectTimeout=500");
        var health = provider.GetRequiredService<HealthCheckService>();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var report = await health.CheckHealthAsync();

        Assert.Equal(HealthStatus.Unhealthy, report.Entries[RedisHealthCheck.Name].Status);
        Assert.IsType<RedisConnectionException>(report.Entries[RedisHealthCheck.Name].Exception);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"health check took {watch.Elapsed}");
    }

    [Fact]
    public void MissingConnectionStringFailsAtStartupNamingTheKey()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();

        var error = Assert.Throws<InvalidOperationException>(() => services.AddRedisClient(configuration));

        Assert.Contains("ConnectionStrings:redis", error.Message);
        Assert.Contains("ConnectionStrings__redis", error.Message);
    }

    private static ServiceProvider BuildProvider(string connectionString)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = connectionString })
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRedisClient(configuration);
        return services.BuildServiceProvider();
    }
}
