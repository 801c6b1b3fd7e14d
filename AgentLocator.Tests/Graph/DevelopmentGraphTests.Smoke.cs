using AgentLocator.Smoke;
using AgentLocator.Tests.AppHost;
using Aspire.Hosting.Testing;
using Xunit.Abstractions;

namespace AgentLocator.Tests.Graph;

/// <summary>
/// The whole graph in Development: the smoke suite in-process against it (here), and the dashboard's view of its telemetry
/// (DevelopmentGraphTests.Dashboard.cs). Shares the AppHost collection: never in parallel with another graph.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed partial class DevelopmentGraphTests(DevelopmentGraphFixture fixture, ITestOutputHelper output) : IClassFixture<DevelopmentGraphFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task SmokeSuiteIsGoAgainstADevelopmentGraphAndBothServicesReportTheInjectedBuild()
    {
        var app = fixture.App;
        await GraphSmoke.AssertVersionIsTheInjectedBuildAsync(app, "api");
        await GraphSmoke.AssertVersionIsTheInjectedBuildAsync(app, "mediaworker");

        var report = await GraphSmoke.RunAsync(output, GraphSmoke.Options(app.GetEndpoint("api")) with
        {
            MediaWorkerUrl = app.GetEndpoint("mediaworker"),
            ApiKey = GraphSmoke.ApiKey,
            ExpectCommit = app.Build().Commit,
            ExpectDeployId = app.Build().DeployId,
        }, RunTimeout);

        await GraphSmoke.AssertGoAsync(report, app, GraphSmoke.CoreChecks);
        Assert.Equal("Development", report.Environment);
        Assert.Contains("(as expected)", report["version.api"].Detail, StringComparison.Ordinal);
        Assert.Contains("(as expected)", report["version.mediaworker"].Detail, StringComparison.Ordinal);
        Assert.True(report["webhook.incoming_call.unsigned"].Skipped, "Development does not validate signatures, so the run must not claim it checked them");
        Assert.StartsWith("ws://", report["webhook.incoming_call.twiml"].Detail.Split("<Stream url=")[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmokeCallStartsTheStreamWithTheIncomingCallParametersAndHearsABotThatSpeaksTheProtocol()
    {
        var app = fixture.App;
        await using var bot = await FakeMediaStreamBot.StartAsync();
        var report = await GraphSmoke.RunAsync(output, GraphSmoke.Options(app.GetEndpoint("api")) with
        {
            MediaUrl = bot.MediaUrl,
            MediaWorkerUrl = app.GetEndpoint("mediaworker"),
            ApiKey = GraphSmoke.ApiKey,
        }, RunTimeout);

        var table = SmokeReportWriter.ToTable(report);
        Assert.All(new[] { "webhook.incoming_call.twiml", "media.handshake", "media.handshake.slash", "media.call" },
            name => Assert.True(report[name].Ok && !report[name].Skipped, $"{name} did not pass:\n{table}"));
        Assert.StartsWith($"101 from {bot.MediaUrl}", report["media.handshake"].Detail, StringComparison.Ordinal);
        Assert.StartsWith("2 real-time turns", report["media.call"].Detail, StringComparison.Ordinal);

        // The call started with exactly the <Parameter>s of the run's own incoming_call TwiML.
        var start = Assert.Single(bot.Starts);
        Assert.Equal(["businessId", "callId", "callSid", "token", "traceparent"], start.Keys.Order(StringComparer.Ordinal));
        Assert.StartsWith(SmokeRunner.CallSidPrefix, start["callSid"], StringComparison.Ordinal);
        Assert.Contains($"({start["businessId"]})", report["crm.business.create"].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmokeSuiteIsNoGoWhenAnotherDeployAnswersOrACallbackIsOverBudgetAndSaysWhatItCouldNotCheckWithoutKeys()
    {
        var app = fixture.App;
        var report = await GraphSmoke.RunAsync(output, GraphSmoke.Options(app.GetEndpoint("api")) with
        {
            MediaWorkerUrl = app.GetEndpoint("mediaworker"),
            ExpectCommit = app.Build().Commit,
            ExpectDeployId = "19990101000000-stale0",
            // No status callback answers in zero time: proves a latency budget fails the run.
            StatusCallbackBudget = TimeSpan.Zero,
        }, RunTimeout);

        Assert.False(report.Go, SmokeReportWriter.ToTable(report));
        Assert.Equal("NO-GO", report.Verdict);
        Assert.False(report["version.api"].Ok);
        Assert.Contains("deploy id " + app.Build().DeployId + ", expected 19990101000000-stale0: a stale deploy is answering",
            report["version.api"].Detail, StringComparison.Ordinal);
        Assert.False(report["version.mediaworker"].Ok);
        Assert.True(report["health"].Ok && !report["health"].Skipped);
        Assert.False(report["webhook.call_status"].Ok);
        Assert.Contains("over the 0 ms budget", report["webhook.call_status"].Detail, StringComparison.Ordinal);

        // No API key and no business number: the call answers 'not in service', and the report says what that leaves unchecked.
        Assert.True(report["crm.business.create"].Skipped);
        Assert.True(report["webhook.incoming_call"].Ok && !report["webhook.incoming_call"].Skipped, SmokeReportWriter.ToTable(report));
        Assert.Contains("give --api-key or --business-number", report["webhook.incoming_call.twiml"].Detail, StringComparison.Ordinal);
        Assert.True(report["media.call"].Skipped);
        Assert.True(report["crm.customer.create"].Skipped);
        Assert.False(report.Contains("crm.cleanup"), "nothing was created, so nothing is cleaned up");
        Assert.Contains("NO-GO", SmokeReportWriter.ToTable(report), StringComparison.Ordinal);
    }
}
