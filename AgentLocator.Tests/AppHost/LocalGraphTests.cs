using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Processes;
using AgentLocator.Tests.Infrastructure;
using Npgsql;

namespace AgentLocator.Tests.AppHost;

[Collection(AppHostCollection.Name)]
public sealed partial class LocalGraphTests(LocalGraphFixture fixture) : IClassFixture<LocalGraphFixture>
{
    private DistributedApplication App => fixture.App;

    [Theory]
    [InlineData("api")]
    [InlineData("mediaworker")]
    public async Task EveryServiceAnswersHealthWithOkTrue(string resource)
    {
        using var client = App.CreateHttpClient(resource);

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void EveryResourceIsHealthyWithTheModeItWasAskedFor()
    {
        Assert.All(App.Snapshots, s => Assert.Equal(ResourceState.Healthy, s.State));
        Assert.Equal("local", App.GetResource("postgres").Mode);
        Assert.Equal("local", App.GetResource("redis").Mode);
        Assert.Equal(["postgres", "agentlocator", "redis", "mediaworker", "api"], App.Snapshots.Select(s => s.Name));
        Assert.True(File.Exists(App.PidFilePath), "the pid file should exist while the graph runs");
    }

    [Fact]
    public async Task TheDatabaseExistsAndItsPasswordAuthenticatedConnectionStringWorks()
    {
        var connectionString = App.GetConnectionString("agentlocator")!;
        Assert.Matches(@"^Host=127\.0\.0\.1;Port=\d+;Username=postgres;Password=[0-9a-f]{32};Database=agentlocator$", connectionString);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);
        Assert.Equal("agentlocator", await command.ExecuteScalarAsync());

        var wrongPassword = new NpgsqlConnectionStringBuilder(connectionString) { Password = "wrong", Pooling = false }.ConnectionString;
        await using var rejected = new NpgsqlConnection(wrongPassword);
        await Assert.ThrowsAsync<PostgresException>(() => rejected.OpenAsync());
    }

    [Fact]
    public async Task RedisAnswersPingOnItsConnectionString()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var reply = await RawRedis.SendAsync(App.GetConnectionString("redis")!, timeout.Token, "PING");

        Assert.Equal("+PONG\r\n", reply);
    }

    [Fact]
    public void PostgresRunsAsAnUnprivilegedUserWhenTheAppHostIsRoot()
    {
        var pid = App.GetResource("postgres").ProcessId!.Value;
        var uid = ProcessTree.UidOf(pid);

        Assert.NotEqual(0, uid);
        Assert.Contains("postgres", PortOwners.ReadCommandLine(pid), StringComparison.Ordinal);
    }

    [Fact]
    public void TheApiProcessGetsAspireEnvironmentAndBuildMetadata()
    {
        var environment = ProcessTree.EnvironmentOf(App.GetResource("api").ProcessId!.Value);
        var mediaworker = App.GetEndpoint("mediaworker");
        var api = App.GetEndpoint("api");

        Assert.Equal(App.GetConnectionString("agentlocator"), environment["ConnectionStrings__agentlocator"]);
        Assert.Equal(App.GetConnectionString("redis"), environment["ConnectionStrings__redis"]);
        Assert.Equal($"http://localhost:{mediaworker.Port}", environment["services__mediaworker__http__0"]);
        Assert.Equal($"http://localhost:{api.Port}", environment["ASPNETCORE_URLS"]);
        Assert.Equal("Development", environment["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("api", environment["OTEL_SERVICE_NAME"]);
        Assert.Equal(
            $"service.version={App.Metadata.Commit},deployment.environment=development,service.instance.id=api-{App.Metadata.DeployId}",
            environment["OTEL_RESOURCE_ATTRIBUTES"]);
        Assert.False(environment.ContainsKey("OTEL_EXPORTER_OTLP_ENDPOINT"), "no OTLP endpoint was given to the AppHost");
        Assert.Equal($"http://localhost:{api.Port}", environment["PublicBaseUrl"]);
        Assert.Equal($"ws://localhost:{mediaworker.Port}/ws/twilio-media", environment["MediaStreamUrl"]);
        Assert.Equal(App.Metadata.Commit, environment["GIT_COMMIT"]);
        Assert.Matches(CommitPattern(), environment["GIT_COMMIT"]);
        Assert.Equal(App.Metadata.DeployId, environment["DEPLOY_ID"]);
        Assert.Matches(DeployIdPattern(), environment["DEPLOY_ID"]);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", environment["BUILD_TIME"]);
        Assert.Equal($"{Environment.ProcessId}", environment["AGENTLOCATOR_PARENT_PID"]);
    }

    [Fact]
    public void TheMediaWorkerGetsItsReferencesButNotTheApis()
    {
        var environment = ProcessTree.EnvironmentOf(App.GetResource("mediaworker").ProcessId!.Value);

        Assert.Equal(App.GetConnectionString("agentlocator"), environment["ConnectionStrings__agentlocator"]);
        Assert.Equal(App.GetConnectionString("redis"), environment["ConnectionStrings__redis"]);
        Assert.False(environment.ContainsKey("services__api__http__0"), "the mediaworker does not reference the api");
        Assert.Equal("mediaworker", environment["OTEL_SERVICE_NAME"]);
        Assert.Equal(App.Metadata.DeployId, environment["DEPLOY_ID"]);
    }

    [GeneratedRegex("^([0-9a-f]{40}(-dirty)?|unknown)$")]
    private static partial Regex CommitPattern();

    [GeneratedRegex(@"^\d{14}-[0-9a-f]{6}$")]
    private static partial Regex DeployIdPattern();
}
