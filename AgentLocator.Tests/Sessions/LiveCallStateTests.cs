using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using AgentLocator.Api;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Sessions;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Voice;
using StackExchange.Redis;

namespace AgentLocator.Tests.Sessions;

/// <summary>What the services keep in a real Redis, and how they behave when it goes away and comes back.</summary>
public sealed class LiveCallStateTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _client = null!;

    private IDatabase Redis => _client.GetDatabase();
    private FakeTwilioServer _twilio = null!;
    private string _database = "";
    private ServiceFactory<ApiEntryPoint> _api = null!;
    private TwilioWebhookClient _webhooks = null!;
    private string _number = "";

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _client = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        _twilio = await FakeTwilioServer.StartAsync();
        _database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("sessions");
        _api = ApiTestHost.Create(_database, extra: new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["Twilio:AuthToken"] = VoiceWebhookFixture.AuthToken,
            ["PublicBaseUrl"] = VoiceWebhookFixture.PublicBaseUrl,
            ["Voice:GreetingDuration"] = "00:00:00",
            ["Voice:StreamStartGrace"] = "00:00:01",
        });
        _webhooks = new TwilioWebhookClient(_api.CreateClient(), VoiceWebhookFixture.PublicBaseUrl, VoiceWebhookFixture.AuthToken);
        _number = "+9725" + Random.Shared.Next(1_000_000, 9_999_999);
        (await _api.CreateCrmClient().PostAsJsonAsync("/api/businesses", new { name = "Sessions", phoneNumbers = new[] { _number } })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _client.DisposeAsync();
        await _twilio.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private Task<HttpResponseMessage> IncomingCallAsync(string callSid, string? idempotencyToken = null) =>
        _webhooks.PostAsync("/webhook/incoming_call",
            [new("CallSid", callSid), new("From", "+972521112233"), new("To", _number), new("CallStatus", "ringing")],
            headers: idempotencyToken is null ? null : new Dictionary<string, string> { ["I-Twilio-Idempotency-Token"] = idempotencyToken });

    private ServiceFactory<AgentLocator.MediaWorker.MediaWorkerEntryPoint> Worker() => MediaWorkerTestHost.Create(_database, _twilio.Configuration,
        extra: new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["PublicBaseUrl"] = VoiceWebhookFixture.PublicBaseUrl,
            ["Watchdog:PollInterval"] = "00:00:00.050",
            ["Jobs:Enabled"] = "false",
        });

    /// <summary>How many times the server has run <paramref name="command"/> (INFO commandstats).</summary>
    private async Task<long> CommandCallsAsync(string command)
    {
        // No tie-breaker key: the connection itself would otherwise run a GET.
        await using var admin = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true,tiebreaker=");
        var stats = (await admin.GetServers()[0].InfoAsync("commandstats")).SelectMany(group => group)
            .FirstOrDefault(stat => stat.Key == "cmdstat_" + command).Value;
        return stats is null ? 0 : long.Parse(stats.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task IncomingCallSharesTheSessionArmsTheWatchdogAndAnnouncesTheCall()
    {
        var events = new ConcurrentQueue<string>();
        await _client.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisCallSessions.EventsChannel), (_, message) => events.Enqueue(message.ToString()));
        var callSid = VoiceWebhookFixture.NewCallSid();
        var before = DateTimeOffset.UtcNow;
        var gets = await CommandCallsAsync("get");
        var twiml = XDocument.Parse(await (await IncomingCallAsync(callSid, Guid.NewGuid().ToString())).Content.ReadAsStringAsync());
        // A new call is no retry: nothing is looked up in Redis for its idempotency token.
        Assert.Equal(gets, await CommandCallsAsync("get"));
        var token = twiml.Descendants("Parameter").Single(p => p.Attribute("name")!.Value == "token").Attribute("value")!.Value;

        var session = JsonSerializer.Deserialize<CallSession>((string)(await Redis.StringGetAsync(RedisCallSessions.SessionKey(callSid)))!, JsonSerializerOptions.Web)!;
        Assert.Equal(token, session.Token);
        Assert.Equal("+972521112233", session.From);
        var ttl = await Redis.KeyTimeToLiveAsync(RedisCallSessions.SessionKey(callSid));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(100), TimeSpan.FromHours(2));

        var deadline = await Redis.SortedSetScoreAsync(RedisCallSessions.WatchdogKey, callSid);
        Assert.InRange(deadline!.Value, (before + TimeSpan.FromSeconds(1)).ToUnixTimeMilliseconds() - 50, (DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1)).ToUnixTimeMilliseconds() + 50);
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(events.Any(e => e.Contains(callSid, StringComparison.Ordinal) && e.Contains("call_started", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ARetryWithTheSameIdempotencyTokenGetsTheSameAnswer()
    {
        var events = new ConcurrentQueue<string>();
        await _client.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisCallSessions.EventsChannel), (_, message) => events.Enqueue(message.ToString()));
        var callSid = VoiceWebhookFixture.NewCallSid();
        var token = Guid.NewGuid().ToString();
        var first = await (await IncomingCallAsync(callSid, token)).Content.ReadAsStringAsync();
        // Remembered with the call's session, in the same round trip, for as long as Twilio may retry.
        var remembered = await Redis.StringGetAsync(RedisCallSessions.IdempotencyKey("/webhook/incoming_call:" + token));
        Assert.Equal("xml:" + first, (string?)remembered);
        Assert.InRange((await Redis.KeyTimeToLiveAsync(RedisCallSessions.IdempotencyKey("/webhook/incoming_call:" + token)))!.Value,
            TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        var retry = await IncomingCallAsync(callSid, token);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("text/xml", retry.Content.Headers.ContentType?.MediaType);
        Assert.Equal(first, await retry.Content.ReadAsStringAsync());
        Assert.True(_api.Logs.Contains("WEBHOOK_REPLAYED /webhook/incoming_call"));
        Assert.Equal(1, await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid));
        // Nothing ran twice: the call was announced once.
        await Task.Delay(300);
        Assert.Single(events, e => e.Contains(callSid, StringComparison.Ordinal) && e.Contains("call_started", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOverdueWatchdogRedirectsTheCallToVoicemailExactlyOnceAcrossReplicas()
    {
        await using var a = Worker();
        await using var b = Worker();
        a.CreateClient().Dispose();
        b.CreateClient().Dispose();
        var calls = Enumerable.Range(0, 6).Select(_ => VoiceWebhookFixture.NewCallSid()).ToList();
        foreach (var callSid in calls)
        {
            (await IncomingCallAsync(callSid)).EnsureSuccessStatusCode();
        }

        foreach (var callSid in calls)
        {
            var update = await _twilio.WaitForRequestAsync(r => r.Path.Contains(callSid, StringComparison.Ordinal), TimeSpan.FromSeconds(15));
            Assert.Equal(VoiceWebhookFixture.PublicBaseUrl + "/webhook/stream_ended", update.FormValue("Url"));
        }
        await Task.Delay(500);
        foreach (var callSid in calls)
        {
            Assert.Equal(1, _twilio.Requests.Count(r => r.Path.Contains(callSid, StringComparison.Ordinal)));
            Assert.NotNull(await Sql.ScalarAsync<DateTime?>(_database, "SELECT watchdog_fired_at FROM calls WHERE call_sid = $1", callSid));
        }
        Assert.Equal(calls.Count, a.Logs.Lines.Concat(b.Logs.Lines).Count(l => l.Contains("WATCHDOG_FIRED", StringComparison.Ordinal)));
        Assert.Null(await Redis.SortedSetScoreAsync(RedisCallSessions.WatchdogKey, calls[0]));
    }

    [Fact]
    public async Task ADisarmedWatchdogNeverFires()
    {
        await using var worker = Worker();
        worker.CreateClient().Dispose();
        var callSid = VoiceWebhookFixture.NewCallSid();
        (await IncomingCallAsync(callSid)).EnsureSuccessStatusCode();
        var sessions = (ICallSessions)worker.Services.GetService(typeof(ICallSessions))!;
        Assert.True(await sessions.DisarmWatchdogAsync(callSid, CancellationToken.None));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(_twilio.Requests, r => r.Path.Contains(callSid, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithRedisDownCallsAreStillAnsweredReadinessSaysWhyAndItAllRecovers()
    {
        using var http = _api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
        _redis.Stop();

        var callSid = VoiceWebhookFixture.NewCallSid();
        var timer = Stopwatch.StartNew();
        var response = await IncomingCallAsync(callSid, Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange(timer.ElapsedMilliseconds, 0, 2000);
        Assert.NotNull(XDocument.Parse(await response.Content.ReadAsStringAsync()).Root!.Element("Connect")!.Element("Stream"));
        Assert.Equal(1, await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid));
        Assert.True(_api.Logs.Contains("REDIS_DEGRADED start_call"));
        // A new call (its row just written) is no retry, and its answer goes with the call's batch: the webhook waited
        // on Redis once, for that batch.
        Assert.False(_api.Logs.Contains("REDIS_DEGRADED recall_response"));
        Assert.False(_api.Logs.Contains("REDIS_DEGRADED remember_response"));

        var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("redis", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failing")[0].GetString());

        await _redis.StartAsync();
        Assert.True(await Sql.EventuallyAsync(async () => (await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30)),
            "readiness did not recover after Redis came back");
        var after = VoiceWebhookFixture.NewCallSid();
        (await IncomingCallAsync(after)).EnsureSuccessStatusCode();
        Assert.NotNull(await Redis.SortedSetScoreAsync(RedisCallSessions.WatchdogKey, after));
    }
}
