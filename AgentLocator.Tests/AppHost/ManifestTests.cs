using System.Text.Json;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// <c>dotnet run --project AgentLocator.AppHost -- --publisher manifest --output-path …</c> describes a real deployment:
/// Aspire's container resources for Postgres and Redis whatever this machine has, the services wired to them, and
/// the public address and token secret asked of the deployment as parameters.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class ManifestTests
{
    [Fact]
    public async Task TheManifestDeclaresContainersForTheServersAndParametersForWhatADeploymentMustGive()
    {
        var directory = Directory.CreateTempSubdirectory("agentlocator-manifest-");
        try
        {
            var path = Path.Combine(directory.FullName, "aspire-manifest.json");
            await using var appHost = AppHostProcess.Start("--publisher", "manifest", "--output-path", path);
            Assert.True(await appHost.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, $"publishing failed:\n{appHost.Output}");

            using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(path));
            var resources = manifest.RootElement.GetProperty("resources");
            var names = resources.EnumerateObject().Select(r => r.Name).ToArray();
            Assert.All(["postgres", "agentlocator", "redis", "mediaworker", "api", "web", "public-base-url", "media-stream-token-secret", "web-api-key"], name => Assert.Contains(name, names));
            // The executable servers are for machines without a container runtime, never for a deployment.
            Assert.DoesNotContain(resources.EnumerateObject(), r => r.Value.GetProperty("type").GetString() == "executable.v0");

            var postgres = resources.GetProperty("postgres");
            Assert.Equal("container.v0", postgres.GetProperty("type").GetString());
            Assert.Contains("postgres", postgres.GetProperty("image").GetString(), StringComparison.Ordinal);
            Assert.NotEmpty(postgres.GetProperty("volumes").EnumerateArray());
            Assert.Equal("{postgres.connectionString};Database=agentlocator", resources.GetProperty("agentlocator").GetProperty("connectionString").GetString());
            Assert.Equal("container.v0", resources.GetProperty("redis").GetProperty("type").GetString());
            Assert.Contains("redis", resources.GetProperty("redis").GetProperty("image").GetString(), StringComparison.Ordinal);

            foreach (var service in new[] { "api", "mediaworker" })
            {
                var project = resources.GetProperty(service);
                Assert.Equal("project.v0", project.GetProperty("type").GetString());
                var environment = project.GetProperty("env");
                Assert.Equal("{agentlocator.connectionString}", environment.GetProperty("ConnectionStrings__agentlocator").GetString());
                Assert.Equal("{redis.connectionString}", environment.GetProperty("ConnectionStrings__redis").GetString());
                Assert.Equal("{public-base-url.value}", environment.GetProperty("PublicBaseUrl").GetString());
                Assert.Equal("{media-stream-token-secret.value}", environment.GetProperty("MediaStream__TokenSecret").GetString());
                Assert.Matches("^([0-9a-f]{40}(-dirty)?|unknown)$", environment.GetProperty("GIT_COMMIT").GetString());
                Assert.Matches(@"^\d{14}-[0-9a-f]{6}$", environment.GetProperty("DEPLOY_ID").GetString());
                // Nothing of this machine leaks into a deployment.
                Assert.False(environment.TryGetProperty("Storage__Directory", out _), $"{service} names a local folder");
            }

            Assert.Equal("{mediaworker.bindings.http.url}", resources.GetProperty("api").GetProperty("env").GetProperty("services__mediaworker__http__0").GetString());
            // The owners' web app: the database (Identity), the Api by service discovery, and a key both sides get from the deployment.
            var web = resources.GetProperty("web").GetProperty("env");
            Assert.Equal("{agentlocator.connectionString}", web.GetProperty("ConnectionStrings__agentlocator").GetString());
            Assert.Equal("{api.bindings.http.url}", web.GetProperty("services__api__http__0").GetString());
            Assert.Equal("{web-api-key.value}", web.GetProperty("Web__ApiKey").GetString());
            Assert.Equal("{web-api-key.value}", resources.GetProperty("api").GetProperty("env").GetProperty("Crm__ApiKeys__100").GetString());
            Assert.False(web.TryGetProperty("MediaStream__TokenSecret", out _), "the web app has no use for the stream-token secret");
            Assert.True(resources.GetProperty("web-api-key").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
            Assert.True(resources.GetProperty("media-stream-token-secret").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
            // Without a key there is no AI provider to declare: the MediaWorker runs the offline intake.
            Assert.DoesNotContain("openai", names);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AnOpenAiConnectionStringGivenToTheAppHostReachesOnlyTheMediaWorker()
    {
        var directory = Directory.CreateTempSubdirectory("agentlocator-manifest-");
        try
        {
            var path = Path.Combine(directory.FullName, "aspire-manifest.json");
            await using var appHost = AppHostProcess.Start("--publisher", "manifest", "--output-path", path,
                "--ConnectionStrings:openai=Endpoint=http://127.0.0.1:9/v1;Key=sk-test-not-a-key");
            Assert.True(await appHost.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, $"publishing failed:\n{appHost.Output}");
            Assert.DoesNotContain("sk-test-not-a-key", appHost.Output, StringComparison.Ordinal);

            using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(path));
            var resources = manifest.RootElement.GetProperty("resources");
            Assert.True(resources.TryGetProperty("openai", out _), "the openai connection string is declared");
            Assert.Equal("{openai.connectionString}", resources.GetProperty("mediaworker").GetProperty("env").GetProperty("ConnectionStrings__openai").GetString());
            Assert.False(resources.GetProperty("api").GetProperty("env").TryGetProperty("ConnectionStrings__openai", out _), "the Api has no use for the AI key");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
