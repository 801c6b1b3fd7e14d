using AgentLocator.Smoke;
using AgentLocator.Tests.AppHost;
using AgentLocator.Tests.Infrastructure;
using Aspire.Hosting.Testing;
using Xunit.Abstractions;

namespace AgentLocator.Tests.Graph;

/// <summary>
/// The whole graph as Production: Twilio credentials and a CRM key given to both services through the AppHost,
/// a public https address (so TwiML carries wss://), webhook signatures enforced, Twilio's REST API a local fake.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class ProductionGraphSmokeTests(ITestOutputHelper output)
{
    private const string PublicBaseUrl = "https://calls.agentlocator.test";

    [Fact]
    public async Task SmokeSuiteIsGoAgainstAProductionGraphWhereOnlySignedWebhooksPass()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        var configuration = new Dictionary<string, string?>(GraphSmoke.ApiSettings)
        {
            ["AppHost:Environment"] = "Production",
            ["AppHost:PublicBaseUrl"] = PublicBaseUrl,
        };
        foreach (var service in new[] { "api", "mediaworker" })
        {
            configuration[$"AppHost:Resources:{service}:Env:Twilio__AccountSid"] = twilio.AccountSid;
            configuration[$"AppHost:Resources:{service}:Env:Twilio__AuthToken"] = twilio.AuthToken;
            configuration[$"AppHost:Resources:{service}:Env:Twilio__ApiBaseUrl"] = twilio.BaseUrl.ToString();
            configuration[$"AppHost:Resources:{service}:Env:Crm__ApiKeys__0"] = GraphSmoke.ApiKey;
        }
        await using var app = await AgentLocatorGraph.StartAsync(configuration);

        await GraphSmoke.AssertVersionIsTheInjectedBuildAsync(app, "api");
        await GraphSmoke.AssertVersionIsTheInjectedBuildAsync(app, "mediaworker");

        var mediaworker = app.GetEndpoint("mediaworker");
        var report = await GraphSmoke.RunAsync(output, GraphSmoke.Options(app.GetEndpoint("api")) with
        {
            PublicUrl = new Uri(PublicBaseUrl),
            // The public wss:// host does not resolve here: the simulated call goes to the MediaWorker directly.
            MediaUrl = new UriBuilder(mediaworker) { Scheme = "ws", Path = "/ws/twilio-media" }.Uri,
            MediaWorkerUrl = mediaworker,
            AuthToken = twilio.AuthToken,
            AccountSid = twilio.AccountSid,
            ApiKey = GraphSmoke.ApiKey,
            ExpectCommit = app.Build().Commit,
            ExpectDeployId = app.Build().DeployId,
        }, TimeSpan.FromSeconds(45));

        await GraphSmoke.AssertGoAsync(report, app, [.. GraphSmoke.CoreChecks, "webhook.incoming_call.unsigned", "whatsapp.webhook.unsigned"]);
        Assert.Equal("Production", report.Environment);
        Assert.Equal("403 without X-Twilio-Signature", report["webhook.incoming_call.unsigned"].Detail);
        Assert.Contains($"<Stream url=wss://calls.agentlocator.test:{mediaworker.Port}/ws/twilio-media>", report["webhook.incoming_call.twiml"].Detail, StringComparison.Ordinal);

        // Signed with the wrong token is as bad as unsigned: the same suite with another token is NO-GO.
        var forged = await GraphSmoke.RunAsync(output, GraphSmoke.Options(app.GetEndpoint("api")) with
        {
            PublicUrl = new Uri(PublicBaseUrl),
            MediaWorkerUrl = mediaworker,
            AuthToken = "not-the-auth-token",
            BusinessNumber = "+972559999999",
        }, TimeSpan.FromSeconds(30));
        Assert.False(forged.Go);
        Assert.Contains("expected 200 TwiML, got 403", forged["webhook.incoming_call"].Detail, StringComparison.Ordinal);
        Assert.All(new[] { "webhook.stream_status", "webhook.handle_recording", "webhook.call_status" },
            name => Assert.Contains("got 403", forged[name].Detail, StringComparison.Ordinal));
    }
}
