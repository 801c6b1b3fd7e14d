using System.Net;
using AgentLocator.ServiceDefaults.Http;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Twilio;
using AgentLocator.Twilio.Rest;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.Tests.Http;

public sealed class ServiceDiscoveryTests
{
    [Fact]
    public async Task ServiceNameHostIsRewrittenToTheConfiguredEndpoint()
    {
        await using var server = await FlakyServer.StartAsync();
        await using var services = BuildServices(new() { ["services:mediaworker:http:0"] = server.BaseUrl.ToString().TrimEnd('/') });
        using var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("internal");

        using var response = await http.GetAsync("http://mediaworker/echo/jobs?id=7");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("GET /echo/jobs?id=7", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HttpsRequestFallsBackToTheHttpEndpointWhenThereIsNoHttpsOne()
    {
        await using var server = await FlakyServer.StartAsync();
        await using var services = BuildServices(new() { ["services:api:http:0"] = server.BaseUrl.ToString() });
        using var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("internal");

        using var response = await http.GetAsync("https://api/echo/version");

        Assert.Equal("GET /echo/version", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public void HttpsEndpointIsPreferredForHttpsRequests()
    {
        var handler = Handler(new() { ["services:api:http:0"] = "http://localhost:5001", ["services:api:https:0"] = "https://localhost:7001" });

        Assert.True(handler.TryResolve(new Uri("https://api/webhook/incoming_call?x=1"), out var resolved));
        Assert.Equal("https://localhost:7001/webhook/incoming_call?x=1", resolved.ToString());
    }

    [Fact]
    public void HttpRequestDoesNotUseTheHttpsEndpoint()
    {
        var handler = Handler(new() { ["services:api:https:0"] = "https://localhost:7001" });

        Assert.False(handler.TryResolve(new Uri("http://api/health"), out var resolved));
        Assert.Equal("http://api/health", resolved.ToString());
    }

    [Fact]
    public void EndpointWithAPathBaseKeepsItInFrontOfTheRequestPath()
    {
        var handler = Handler(new() { ["services:mediaworker:http:0"] = "http://10.0.0.5:8080/worker/" });

        Assert.True(handler.TryResolve(new Uri("http://mediaworker/jobs/1"), out var resolved));
        Assert.Equal("http://10.0.0.5:8080/worker/jobs/1", resolved.ToString());
    }

    [Theory]
    [InlineData("https://api.twilio.com/2010-04-01/Accounts")]
    [InlineData("http://unknown-service/x")]
    [InlineData("http://127.0.0.1:5000/x")]
    public void UnknownHostsAreLeftUntouched(string url)
    {
        var handler = Handler(new() { ["services:api:http:0"] = "http://localhost:5001" });

        Assert.False(handler.TryResolve(new Uri(url), out var resolved));
        Assert.Equal(new Uri(url), resolved);
    }

    [Fact]
    public void MalformedEndpointFailsNamingTheKey()
    {
        var handler = Handler(new() { ["services:api:http:0"] = "localhost:5001" });

        var error = Assert.Throws<InvalidOperationException>(() => handler.TryResolve(new Uri("http://api/x"), out _));
        Assert.Contains("services:api:http:0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpClientDefaultsGiveTypedClientsRetriesSoTwilio429IsRetried()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        var settings = new Dictionary<string, string?>(twilio.Configuration)
        {
            ["HttpClient:Resilience:BaseDelay"] = "00:00:00.010",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgentLocatorHttpClientDefaults();
        services.AddTwilio(configuration);
        await using var provider = services.BuildServiceProvider();
        twilio.FailNext(1, FakeTwilioFailure.TooManyRequests(TimeSpan.FromSeconds(1)));

        var result = await provider.GetRequiredService<TwilioRestApi>().SendMessageAsync(new TwilioMessage
        {
            To = "whatsapp:+972501234567",
            From = "whatsapp:+14155238886",
            Body = "ליד חדש",
        });

        Assert.Equal("queued", result.Status);
        Assert.Equal([429, 201], twilio.Requests.Select(r => r.ResponseStatus));
        Assert.Single(twilio.Messages);
    }

    [Fact]
    public async Task TwilioCallUpdateIsRetriedAfterAServerErrorBecauseItIsSafeToRepeat()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        var settings = new Dictionary<string, string?>(twilio.Configuration) { ["HttpClient:Resilience:BaseDelay"] = "00:00:00.010" };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgentLocatorHttpClientDefaults();
        services.AddTwilio(configuration);
        await using var provider = services.BuildServiceProvider();
        twilio.FailNext(1, FakeTwilioFailure.ServerError());
        twilio.FailNext(1, FakeTwilioFailure.ServerError(), pathContains: "Messages");

        var call = await provider.GetRequiredService<TwilioRestApi>().RedirectCallAsync("CA1", "https://example.com/voicemail");
        var message = await Assert.ThrowsAsync<TwilioApiException>(() => provider.GetRequiredService<TwilioRestApi>().SendMessageAsync(new TwilioMessage
        {
            To = "+972501234567",
            From = "+14155238886",
            Body = "x",
        }));

        Assert.Equal(CallUpdateOutcome.Updated, call.Outcome);
        Assert.Equal(HttpStatusCode.InternalServerError, message.StatusCode);
        Assert.Equal([500, 200, 500], twilio.Requests.Select(r => r.ResponseStatus));
    }

    private static ServiceProvider BuildServices(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddAgentLocatorHttpClientDefaults();
        services.AddHttpClient("internal");
        return services.BuildServiceProvider();
    }

    private static ServiceDiscoveryHandler Handler(Dictionary<string, string?> settings) =>
        new(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
}
