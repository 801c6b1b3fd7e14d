using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Data.Phones;
using Npgsql;

namespace AgentLocator.Tests.Voice;

/// <summary>Postgres goes away mid-service (its TCP path is cut): the phone is still answered and nothing is lost.</summary>
public sealed class DatabaseOutageTests
{
    [Fact]
    public async Task WithTheDatabaseGoneCallsAreStillAnsweredAndRecordedWhenItReturnsAndNoLogLineHasAPhoneNumber()
    {
        var direct = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("outage");
        var target = new NpgsqlConnectionStringBuilder(direct);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(direct) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        await using var api = ApiTestHost.Create(viaProxy, extra: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = VoiceWebhookFixture.AuthToken,
            ["PublicBaseUrl"] = VoiceWebhookFixture.PublicBaseUrl,
            ["Voice:DirectoryCacheTtl"] = "00:00:00",
        });
        var crm = api.CreateCrmClient();
        var number = "+9724" + Random.Shared.Next(1_000_000, 9_999_999);
        (await crm.PostAsJsonAsync("/api/businesses", new { name = "Outage Ltd", phoneNumbers = new[] { number } })).EnsureSuccessStatusCode();
        var twilio = new TwilioWebhookClient(api.CreateClient(), VoiceWebhookFixture.PublicBaseUrl, VoiceWebhookFixture.AuthToken);

        proxy.Cut();
        var callSid = VoiceWebhookFixture.NewCallSid();
        var recordingUrl = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + Guid.NewGuid().ToString("N");

        var timer = Stopwatch.StartNew();
        var incoming = await twilio.PostAsync("/webhook/incoming_call", ("CallSid", callSid), ("From", "+972528887766"), ("To", number), ("CallStatus", "ringing"));
        var incomingMs = timer.ElapsedMilliseconds;
        Assert.Equal(HttpStatusCode.OK, incoming.StatusCode);
        var greeting = XDocument.Parse(await incoming.Content.ReadAsStringAsync());
        Assert.EndsWith("/greeting_he.mp3", greeting.Root!.Element("Play")!.Value);
        Assert.NotNull(greeting.Root!.Element("Connect")!.Element("Stream"));
        Assert.InRange(incomingMs, 0, 3000);

        var ended = await twilio.PostAsync("/webhook/stream_ended", ("CallSid", callSid), ("CallStatus", "in-progress"));
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.NotNull(XDocument.Parse(await ended.Content.ReadAsStringAsync()).Root!.Element("Record"));

        var recording = await twilio.PostAsync("/webhook/handle_recording", ("CallSid", callSid), ("RecordingUrl", recordingUrl), ("RecordingDuration", "5"));
        Assert.Equal(HttpStatusCode.OK, recording.StatusCode);
        Assert.NotNull(XDocument.Parse(await recording.Content.ReadAsStringAsync()).Root!.Element("Hangup"));

        Assert.Equal(HttpStatusCode.NoContent, (await twilio.PostAsync("/webhook/call_status", ("CallSid", callSid), ("CallStatus", "completed"), ("CallDuration", "31"))).StatusCode);
        Assert.True(api.Logs.Contains("WEBHOOK_ERROR incoming_call answered without the database; call to rebuild: CallSid=" + callSid));
        // Phone numbers are redacted in every log line, the ones that rebuild a call included.
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains("+972528887766", StringComparison.Ordinal) || line.Contains(number, StringComparison.Ordinal));
        Assert.True(api.Logs.Contains($"From={PhoneNumbers.Redact("+972528887766")} To={PhoneNumbers.Redact(number)}"));

        proxy.Restore();
        Assert.True(await Sql.EventuallyAsync(async () =>
            await Sql.CountAsync(direct, "SELECT count(*) FROM calls WHERE call_sid = $1 AND status = 'completed' AND fallback_used", callSid) == 1
            && await Sql.CountAsync(direct, "SELECT count(*) FROM jobs WHERE type = 'recording.store' AND payload->>'callSid' = $1", callSid) == 1,
            TimeSpan.FromSeconds(30)), "the deferred writes did not land after the database came back");
        var businessOfCall = await Sql.ScalarAsync<string>(direct,
            "SELECT b.name FROM calls c JOIN businesses b ON b.id = c.business_id WHERE c.call_sid = $1", callSid);
        Assert.Equal("Outage Ltd", businessOfCall);

        var ready = await api.CreateClient().GetFromJsonAsync<JsonElement>("/readyz");
        Assert.True(ready.GetProperty("ok").GetBoolean());
    }
    [Fact]
    public async Task ARetryOnceTheDatabaseIsBackGetsTheFirstAnswerWhileItsRowStillWaitsToBeWritten()
    {
        var direct = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("outage_retry");
        var target = new NpgsqlConnectionStringBuilder(direct);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        await using var redis = await RedisServer.StartAsync();
        var viaProxy = new NpgsqlConnectionStringBuilder(direct) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        await using var api = ApiTestHost.Create(viaProxy, extra: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = VoiceWebhookFixture.AuthToken,
            ["PublicBaseUrl"] = VoiceWebhookFixture.PublicBaseUrl,
            ["ConnectionStrings:redis"] = redis.ConnectionString,
        });
        var crm = api.CreateCrmClient();
        var number = "+9724" + Random.Shared.Next(1_000_000, 9_999_999);
        (await crm.PostAsJsonAsync("/api/businesses", new { name = "Retry Ltd", phoneNumbers = new[] { number } })).EnsureSuccessStatusCode();
        var twilio = new TwilioWebhookClient(api.CreateClient(), VoiceWebhookFixture.PublicBaseUrl, VoiceWebhookFixture.AuthToken);
        var callSid = VoiceWebhookFixture.NewCallSid();
        var token = new Dictionary<string, string> { ["I-Twilio-Idempotency-Token"] = Guid.NewGuid().ToString() };
        Task<HttpResponseMessage> IncomingCallAsync(string sid, IDictionary<string, string>? headers) => twilio.PostAsync("/webhook/incoming_call",
            [new("CallSid", sid), new("From", "+972528887766"), new("To", number), new("CallStatus", "ringing")], headers: headers);
        // An earlier call puts the number's business in the cache; then Postgres goes away and the call is answered without its row.
        (await IncomingCallAsync(VoiceWebhookFixture.NewCallSid(), null)).EnsureSuccessStatusCode();
        proxy.Cut();
        var first = await (await IncomingCallAsync(callSid, token)).Content.ReadAsStringAsync();
        Assert.True(api.Logs.Contains("WEBHOOK_ERROR incoming_call answered without the database; call to rebuild: CallSid=" + callSid));
        // The deferred write backs off while Postgres is gone: long enough out that the retry comes before its next try.
        await Task.Delay(TimeSpan.FromSeconds(4));
        proxy.Restore();

        var retry = await (await IncomingCallAsync(callSid, token)).Content.ReadAsStringAsync();
        Assert.Equal(first, retry);
        Assert.True(api.Logs.Contains("WEBHOOK_REPLAYED /webhook/incoming_call"));
        // The row, once written, is the call the first answer carries.
        var callId = XDocument.Parse(first).Descendants("Parameter").Single(p => p.Attribute("name")!.Value == "callId").Attribute("value")!.Value;
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(direct, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid) == 1,
            TimeSpan.FromSeconds(30)), "the deferred write did not land");
        Assert.Equal(callId, await Sql.ScalarAsync<string>(direct, "SELECT id::text FROM calls WHERE call_sid = $1", callSid));
    }
}
