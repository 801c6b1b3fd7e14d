using System.Diagnostics;
using System.Net;
using AgentLocator.ServiceDefaults.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace AgentLocator.Tests.Http;

public sealed class HttpResilienceTests : IAsyncLifetime
{
    private FlakyServer _server = null!;
    private ServiceProvider _services = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await FlakyServer.StartAsync();
        _services = BuildServices(new Dictionary<string, string?>
        {
            // Generous per-attempt timeout: a cold, busy 2-core machine must not turn a slow first answer into a retry.
            ["HttpClient:Resilience:TotalTimeout"] = "00:00:15",
            ["HttpClient:Resilience:AttemptTimeout"] = "00:00:03",
            ["HttpClient:Resilience:MaxRetryAttempts"] = "3",
            ["HttpClient:Resilience:BaseDelay"] = "00:00:00.020",
            ["HttpClient:Resilience:MaxRetryAfter"] = "00:00:05",
        });
        _http = _services.GetRequiredService<IHttpClientFactory>().CreateClient("test");
        _http.BaseAddress = _server.BaseUrl;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _services.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task TooManyRequestsIsRetriedAfterTheRetryAfterSeconds()
    {
        using var response = await _http.GetAsync("status/429s?code=429&times=1&retryAfter=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok after 2", await response.Content.ReadAsStringAsync());
        var attempts = _server.Attempts("429s");
        Assert.Equal(2, attempts.Count);
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromMilliseconds(950), $"waited only {attempts[1].At - attempts[0].At}");
    }

    [Fact]
    public async Task TooManyRequestsIsRetriedAfterTheRetryAfterHttpDate()
    {
        using var response = await _http.GetAsync("status/429d?code=429&times=1&retryAfterDate=2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var attempts = _server.Attempts("429d");
        Assert.Equal(2, attempts.Count);
        // An HTTP date has whole-second precision, so "2 s ahead" means a wait of more than 1 s.
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromMilliseconds(950), $"waited only {attempts[1].At - attempts[0].At}");
    }

    [Fact]
    public async Task RetryAfterLongerThanTheBackoffCapIsStillHonoured()
    {
        await using var services = BuildServices(new Dictionary<string, string?>
        {
            ["HttpClient:Resilience:MaxDelay"] = "00:00:00.100",
            ["HttpClient:Resilience:BaseDelay"] = "00:00:00.010",
        });
        using var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("test");

        using var response = await http.GetAsync(new Uri(_server.BaseUrl, "status/429cap?code=429&times=1&retryAfter=1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var attempts = _server.Attempts("429cap");
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromMilliseconds(950), $"waited only {attempts[1].At - attempts[0].At}");
    }

    [Fact]
    public async Task RetryAfterLongerThanTheLimitHandsTheResponseBackWithoutWaiting()
    {
        var clock = Stopwatch.StartNew();
        using var response = await _http.GetAsync("status/429long?code=429&times=5&retryAfter=120");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Single(_server.Attempts("429long"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task ServiceUnavailableIsRetriedWithBackoffUntilItSucceeds()
    {
        using var response = await _http.GetAsync("status/503?code=503&times=2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok after 3", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, _server.Attempts("503").Count);
    }

    [Fact]
    public async Task PersistentServerErrorIsReturnedAfterTheLastRetry()
    {
        using var response = await _http.GetAsync("status/500?code=500&times=100");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("failure 4", await response.Content.ReadAsStringAsync());
        Assert.Equal(4, _server.Attempts("500").Count);
    }

    [Fact]
    public async Task ClientErrorsOtherThan408And429AreNotRetried()
    {
        using var response = await _http.GetAsync("status/404?code=404&times=100");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Single(_server.Attempts("404"));
    }

    [Fact]
    public async Task SlowAttemptIsCutByTheAttemptTimeoutAndRetried()
    {
        var clock = Stopwatch.StartNew();
        using var response = await _http.GetAsync("slow/slow1?delayMs=10000&times=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("answered attempt 2", await response.Content.ReadAsStringAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task TotalTimeoutEndsTheCallWhenEveryAttemptIsSlow()
    {
        await using var services = BuildServices(new Dictionary<string, string?>
        {
            ["HttpClient:Resilience:TotalTimeout"] = "00:00:02.500",
            ["HttpClient:Resilience:AttemptTimeout"] = "00:00:00.800",
            ["HttpClient:Resilience:MaxRetryAttempts"] = "10",
            ["HttpClient:Resilience:BaseDelay"] = "00:00:00.010",
        });
        using var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("test");

        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<TimeoutRejectedException>(() => http.GetAsync(new Uri(_server.BaseUrl, "slow/slowall?delayMs=10000&times=100")));

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2.3), TimeSpan.FromSeconds(6));
        Assert.InRange(_server.Attempts("slowall").Count, 2, 4);
    }

    [Fact]
    public async Task NonIdempotentPostIsNotRetriedAfterAServerError()
    {
        using var response = await _http.PostAsync("status/post500?code=500&times=100", new FormUrlEncodedContent([new("Body", "hello")]));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Single(_server.Attempts("post500"));
    }

    [Fact]
    public async Task PostThatOptsInIsRetriedAfterAServerError()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "status/post500optin?code=500&times=1")
        {
            Content = new FormUrlEncodedContent([new("Url", "https://example.com/next")]),
        };
        request.Options.Set(HttpResilience.RetryNonIdempotentOption, true);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, _server.Attempts("post500optin").Count);
    }

    [Fact]
    public async Task PostIsRetriedAfter429WithTheSameFormBody()
    {
        using var response = await _http.PostAsync(
            "status/post429?code=429&times=1&retryAfter=0",
            new FormUrlEncodedContent([new("To", "+972501234567"), new("Body", "שלום & להתראות")]));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var attempts = _server.Attempts("post429");
        Assert.Equal(2, attempts.Count);
        Assert.Equal(attempts[0].Body, attempts[1].Body);
        Assert.Contains("Body=", attempts[1].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonBodyIsBufferedSoARetrySendsItAgain()
    {
        using var response = await _http.PutAsync(
            "status/putjson?code=503&times=1",
            System.Net.Http.Json.JsonContent.Create(new { lead = "רחל", phone = "+972501234567" }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var attempts = _server.Attempts("putjson");
        Assert.Equal(2, attempts.Count);
        Assert.Equal(attempts[0].Body, attempts[1].Body);
        Assert.Contains("972501234567", attempts[1].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamBodyIsSentOnlyOnce()
    {
        using var response = await _http.PutAsync(
            "status/putstream?code=503&times=1",
            new StreamContent(new MemoryStream("audio"u8.ToArray())));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(_server.Attempts("putstream"));
    }

    [Fact]
    public async Task ConnectionRefusedIsRetriedThenSurfaced()
    {
        await using var services = BuildServices(new Dictionary<string, string?>
        {
            ["HttpClient:Resilience:MaxRetryAttempts"] = "2",
            ["HttpClient:Resilience:BaseDelay"] = "00:00:00.200",
        });
        using var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("test");
        var closedPort = GetClosedPort();

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            http.PostAsync($"http://127.0.0.1:{closedPort}/x", new StringContent("payload")));

        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
        // Two backoff delays of about 200 ms and 400 ms (with jitter) prove the POST was retried.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"took only {clock.Elapsed}");
    }

    [Fact]
    public void OptionsAreBoundFromTheHttpClientResilienceSection()
    {
        using var services = BuildServices(new Dictionary<string, string?>
        {
            ["HttpClient:Resilience:TotalTimeout"] = "00:01:00",
            ["HttpClient:Resilience:AttemptTimeout"] = "00:00:05",
            ["HttpClient:Resilience:MaxRetryAttempts"] = "5",
            ["HttpClient:Resilience:BaseDelay"] = "00:00:01",
        });

        var options = services.GetRequiredService<IOptions<HttpResilienceOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(1), options.TotalTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.AttemptTimeout);
        Assert.Equal(5, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), options.BaseDelay);
    }

    [Fact]
    public void DefaultsAreThirtySecondsTotalTenPerAttemptThreeRetriesFromTwoHundredMilliseconds()
    {
        var options = new HttpResilienceOptions();

        Assert.Equal(TimeSpan.FromSeconds(30), options.TotalTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), options.AttemptTimeout);
        Assert.Equal(3, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.BaseDelay);
    }

    [Fact]
    public void InvalidOptionsFailValidation()
    {
        using var services = BuildServices(new Dictionary<string, string?> { ["HttpClient:Resilience:MaxRetryAttempts"] = "-1" });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<HttpResilienceOptions>>().Value);
        Assert.Contains("MaxRetryAttempts", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider BuildServices(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddHttpClient("test").AddAgentLocatorResilience();
        return services.BuildServiceProvider();
    }

    private static int GetClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
