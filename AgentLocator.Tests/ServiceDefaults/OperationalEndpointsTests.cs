using AgentLocator.AppHost.Processes;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using AgentLocator.ServiceDefaults.Hosting;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.ServiceDefaults;

public sealed class OperationalEndpointsTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task HealthIsOkWithoutTouchingDependencies()
    {
        // The database does not exist: liveness must not care.
        await using var api = ApiTestHost.Create("Host=127.0.0.1;Port=1;Database=none;Timeout=1");
        using var client = api.CreateClient();
        var response = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"ok\":true}", await response.Content.ReadAsStringAsync());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task VersionReportsTheInjectedBuildMetadata()
    {
        await using var api = ApiTestHost.Create(database.ConnectionString, extra: new Dictionary<string, string?>
        {
            ["GIT_COMMIT"] = "0123456789abcdef0123456789abcdef01234567",
            ["BUILD_TIME"] = "2026-11-21T08:00:00Z",
            ["DEPLOY_ID"] = "deploy-42",
        });
        using var client = api.CreateClient();
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var response = await client.GetAsync("/version");
        var version = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal("AgentLocator", version.GetProperty("app").GetString());
        Assert.Equal("api", version.GetProperty("service").GetString());
        Assert.Equal("0123456789abcdef0123456789abcdef01234567", version.GetProperty("commit").GetString());
        Assert.Equal("2026-11-21T08:00:00Z", version.GetProperty("build_time").GetString());
        Assert.Equal("deploy-42", version.GetProperty("deploy_id").GetString());
        Assert.InRange(version.GetProperty("ts").GetInt64(), before - 1, before + 5);
        Assert.Contains(api.Logs.Lines, l => l.Contains("APP_START {\"service\":\"api\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\"", StringComparison.Ordinal)
            && l.Contains("\"deploy_id\":\"deploy-42\"", StringComparison.Ordinal) && l.Contains("\"environment\":\"Production\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadinessListsPostgresAndBuildInfoWhenHealthy()
    {
        await using var worker = MediaWorkerTestHost.Create(database.ConnectionString);
        using var client = worker.CreateClient();
        var response = await client.GetAsync("/readyz");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var postgres = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "postgres");
        Assert.Equal("Healthy", postgres.GetProperty("status").GetString());
        Assert.Equal("mediaworker", body.GetProperty("build").GetProperty("service").GetString());
    }

    [Fact]
    public async Task ReadinessIs503NamingPostgresWhenTheDatabaseIsDown()
    {
        var deadPort = PortOwners.GetFreePort();
        await using var api = ApiTestHost.Create($"Host=127.0.0.1;Port={deadPort};Database=none;Username=x;Timeout=1");
        using var client = api.CreateClient();
        var response = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("postgres", body.GetProperty("failing")[0].GetString());
        Assert.False(body.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void CommitFallsBackToTheShaTheSdkStampedIntoTheAssembly()
    {
        var assembly = typeof(BuildInfo).Assembly;
        var info = BuildInfo.Create("api", "Production", _ => null, assembly);
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var expected = informational.Contains('+') ? informational[(informational.IndexOf('+') + 1)..] : "dev";
        Assert.Equal(expected, info.Commit);
        Assert.Equal("dev", info.DeployId);
        Assert.NotEqual("dev", info.BuildTime);
    }

    [Fact]
    public async Task UnknownRoutesAnswerAProblemNotAnEmptyBody()
    {
        await using var api = ApiTestHost.Create(database.ConnectionString);
        using var client = api.CreateClient();
        var response = await client.GetAsync("/no/such/route");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
