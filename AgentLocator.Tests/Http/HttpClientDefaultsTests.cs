using System.Diagnostics;
using System.Net;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Twilio;
using AgentLocator.Twilio.Rest;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentLocator.Tests.Http;

/// <summary>
/// Every HttpClient of a service gets the standard resilience handler with the project's retry policy (429
/// and connection failures for every method, other transient failures only where repeating is harmless) and
/// service discovery, from <c>AddServiceDefaults()</c>.
/// </summary>
public sealed class HttpClientDefaultsTests : IAsyncLifetime
{
    private FlakyServer _server = null!;
    private FakeTwilioServer _twilio = null!;
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        _server = await FlakyServer.StartAsync();
        _twilio = await FakeTwilioServer.StartAsync();
        _host = BuildHost(new Dictionary<string, string?>(_twilio.Configuration)
        {
            ["HttpClient:Resilience:Retry:Delay"] = "00:00:00.010",
            ["services:mediaworker:http:0"] = _server.BaseUrl.ToString(),
        });
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _twilio.DisposeAsync();
        await _server.DisposeAsync();
    }

    private HttpClient Client => _host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("test");

    private TwilioRestApi Twilio => _host.Services.GetRequiredService<TwilioRestApi>();

    private static TwilioMessage Message => new() { To = "whatsapp:+972501234567", From = "whatsapp:+14155238886", Body = "ליד חדש" };

    [Fact]
    public async Task TooManyRequestsOnAPostIsRetriedAfterTheRetryAfterTwilioSent()
    {
        _twilio.FailNext(1, FakeTwilioFailure.TooManyRequests(TimeSpan.FromSeconds(1)), pathContains: "Messages");
        var clock = Stopwatch.StartNew();

        var result = await Twilio.SendMessageAsync(Message);

        Assert.Equal("queued", result.Status);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(20));
        Assert.Equal([429, 201], _twilio.Requests.Select(r => r.ResponseStatus));
        Assert.Single(_twilio.Messages);
    }

    [Fact]
    public async Task ServerErrorOnAMessageIsNotRetriedBecauseTwilioMayHaveSentIt()
    {
        _twilio.FailNext(1, FakeTwilioFailure.ServerError(), pathContains: "Messages");

        var error = await Assert.ThrowsAsync<TwilioApiException>(() => Twilio.SendMessageAsync(Message));

        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal([500], _twilio.Requests.Select(r => r.ResponseStatus));
    }

    [Fact]
    public async Task TwilioCallRedirectIsRetriedAfterAServerErrorBecauseItIsSafeToRepeat()
    {
        _twilio.FailNext(1, FakeTwilioFailure.ServerError(), pathContains: "Calls");

        var call = await Twilio.RedirectCallAsync("CA1", "https://example.com/voicemail");

        Assert.Equal(CallUpdateOutcome.Updated, call.Outcome);
        Assert.Equal([500, 200], _twilio.Requests.Select(r => r.ResponseStatus));
    }

    [Fact]
    public async Task ServiceUnavailableOnAGetIsRetriedUntilItSucceeds()
    {
        var body = await Client.GetStringAsync(new Uri(_server.BaseUrl, "/status/get503?code=503&times=2"));

        Assert.Equal("ok after 3", body);
        Assert.Equal(3, _server.Attempts("get503").Count);
    }

    [Fact]
    public async Task ServerErrorOnAPlainPostIsReturnedAfterOneAttempt()
    {
        using var response = await Client.PostAsync(new Uri(_server.BaseUrl, "/status/post500?code=500&times=5"), new StringContent("x"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Single(_server.Attempts("post500"));
    }

    [Fact]
    public async Task ClientErrorsOtherThan408And429AreNotRetried()
    {
        using var response = await Client.GetAsync(new Uri(_server.BaseUrl, "/status/get404?code=404&times=5"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Single(_server.Attempts("get404"));
    }

    [Fact]
    public async Task ServiceNameHostIsSentToTheEndpointTheAppHostConfigured()
    {
        var body = await Client.GetStringAsync("http://mediaworker/echo/version");

        Assert.Contains("/echo/version", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetryCountComesFromTheHttpClientResilienceSection()
    {
        using var host = BuildHost(new Dictionary<string, string?>
        {
            ["HttpClient:Resilience:Retry:MaxRetryAttempts"] = "1",
            ["HttpClient:Resilience:Retry:Delay"] = "00:00:00.010",
        });
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("test");

        using var response = await client.GetAsync(new Uri(_server.BaseUrl, "/status/once503?code=503&times=5"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(2, _server.Attempts("once503").Count);
    }

    private static IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        builder.Services.AddTwilio(builder.Configuration);
        return builder.Build();
    }
}
