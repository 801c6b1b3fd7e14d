using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
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

        using var response = await client.GetAsync(new Uri("/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void EveryResourceIsHealthyAndTheClusterWasCreatedByTheRunOnceInitResource()
    {
        Assert.All(["postgres", "agentlocator", "redis", "mediaworker", "api"], name =>
        {
            var snapshot = App.Snapshot(name);
            Assert.True(snapshot.State?.Text == KnownResourceStates.Running && snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
                $"{name} is {snapshot.State?.Text}/{snapshot.HealthStatus}:\n{App.DescribeStates()}");
        });

        var init = App.Snapshot("postgres-init");
        Assert.Equal(KnownResourceStates.Finished, init.State?.Text);
        Assert.Equal(0, init.ExitCode);
    }

    [Fact]
    public async Task TheDatabaseExistsAndItsPasswordAuthenticatedConnectionStringWorks()
    {
        var connectionString = await App.GetConnectionStringAsync("agentlocator");
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
        var connectionString = await App.GetConnectionStringAsync("redis");
        Assert.Matches(@"^127\.0\.0\.1:\d+$", connectionString);

        var reply = await RawRedis.SendAsync(connectionString!, timeout.Token, "PING");

        Assert.Equal("+PONG\r\n", reply);
    }

    [Fact]
    public void PostgresRunsAsAnUnprivilegedUserWhenTheAppHostIsRoot()
    {
        // DCP runs the fast-shutdown wrapper; the server is its only child (setpriv exec'd into it).
        var server = Assert.Single(ProcessTree.Descendants(App.ProcessId("postgres")), pid => ProcessTree.CommandLine(pid).Contains(" -D ", StringComparison.Ordinal));

        Assert.NotEqual(0, ProcessTree.UidOf(server));
        Assert.Contains("-c listen_addresses=127.0.0.1", ProcessTree.CommandLine(server), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api", "AgentLocator.Api")]
    [InlineData("mediaworker", "AgentLocator.MediaWorker")]
    [InlineData("web", "AgentLocator.Web")]
    public void DcpStartsEachServiceFromItsBuiltLauncherInItsProjectFolderNotThroughDotnetRun(string resource, string project)
    {
        var pid = App.ProcessId(resource);

        Assert.Matches($@"^/\S+/{Regex.Escape(project)}/bin/\w+/net10\.0/{Regex.Escape(project)}$", ProcessTree.CommandLine(pid));
        Assert.Equal(project, Path.GetFileName(new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(returnFinalTarget: true)?.FullName));
        Assert.Equal(pid, App.ServiceProcessId(resource));
    }

    [Fact]
    public void TheWebAppWaitsForTheDatabaseAndRedisButStartsBesideTheApi()
    {
        var web = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "web");

        var waitsFor = web.Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name).Order().ToArray();

        // Waiting for a database waits for its server too.
        Assert.Equal(["agentlocator", "postgres", "redis"], waitsFor);
    }

    [Fact]
    public async Task TheApiProcessGetsItsReferencesBuildMetadataAndPublicAddresses()
    {
        var environment = ProcessTree.EnvironmentOf(App.ServiceProcessId("api"));
        var mediaworker = App.GetEndpoint("mediaworker");
        var api = App.GetEndpoint("api");
        var build = App.Build();

        Assert.Equal(await App.GetConnectionStringAsync("agentlocator"), environment["ConnectionStrings__agentlocator"]);
        Assert.Equal(await App.GetConnectionStringAsync("redis"), environment["ConnectionStrings__redis"]);
        Assert.Equal($"http://localhost:{mediaworker.Port}", environment["services__mediaworker__http__0"]);
        Assert.Equal($"http://localhost:{api.Port}", environment["ASPNETCORE_URLS"]);
        Assert.Equal("Development", environment["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("api", environment["OTEL_SERVICE_NAME"]);
        Assert.Matches($"^service.instance.id=[^,]+,service.version={Regex.Escape(build.Commit)},deployment.environment=development$", environment["OTEL_RESOURCE_ATTRIBUTES"]);
        Assert.Equal($"http://localhost:{api.Port}", environment["PublicBaseUrl"]);
        Assert.Equal($"ws://localhost:{mediaworker.Port}/ws/twilio-media", environment["MediaStreamUrl"]);
        Assert.Equal(build.Commit, environment["GIT_COMMIT"]);
        Assert.Matches(CommitPattern(), environment["GIT_COMMIT"]);
        Assert.Equal(build.DeployId, environment["DEPLOY_ID"]);
        Assert.Matches(DeployIdPattern(), environment["DEPLOY_ID"]);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", environment["BUILD_TIME"]);
        Assert.Matches("^[0-9a-f]{64}$", environment["MediaStream__TokenSecret"]);
    }

    [Fact]
    public async Task TheMediaWorkerGetsItsReferencesButNotTheApis()
    {
        var environment = ProcessTree.EnvironmentOf(App.ServiceProcessId("mediaworker"));
        var api = ProcessTree.EnvironmentOf(App.ServiceProcessId("api"));

        Assert.Equal(await App.GetConnectionStringAsync("agentlocator"), environment["ConnectionStrings__agentlocator"]);
        Assert.Equal(await App.GetConnectionStringAsync("redis"), environment["ConnectionStrings__redis"]);
        Assert.False(environment.ContainsKey("services__api__http__0"), "the mediaworker does not reference the api");
        Assert.Equal("mediaworker", environment["OTEL_SERVICE_NAME"]);
        Assert.Equal(App.Build().DeployId, environment["DEPLOY_ID"]);
        // Both services sign and check the per-call stream tokens with one key, and share the audio storage.
        Assert.Equal(api["MediaStream__TokenSecret"], environment["MediaStream__TokenSecret"]);
        Assert.Equal(api["Storage__Directory"], environment["Storage__Directory"]);
    }

    [GeneratedRegex("^([0-9a-f]{40}(-dirty)?|unknown)$")]
    private static partial Regex CommitPattern();

    [GeneratedRegex(@"^\d{14}-[0-9a-f]{6}$")]
    private static partial Regex DeployIdPattern();
}
