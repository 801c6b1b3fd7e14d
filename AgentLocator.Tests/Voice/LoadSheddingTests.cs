using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using AgentLocator.Api;
using AgentLocator.Api.Webhooks;
using AgentLocator.Data.Calls;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AgentLocator.Tests.Voice;

/// <summary>
/// Past its capacity the Api sheds voice webhooks instead of queueing them into Twilio's timeout: each is answered at once
/// the way it is when Postgres is down, its writes are made later, and the shed is counted, logged once and alerted. The
/// capacity is made tiny and held by a lock on the calls table, so the burst needs no real overload.
/// </summary>
public sealed class LoadSheddingTests : IAsyncLifetime
{
    private const int Capacity = 2;
    private const int Burst = 24;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private RedisServer _redis = null!;
    private string _database = "";
    private ServiceFactory<ApiEntryPoint> _api = null!;
    private TwilioWebhookClient _twilio = null!;
    private string _number = "";
    private Guid _businessId;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("shedding");
        _api = ApiTestHost.Create(_database, extra: new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["Twilio:AuthToken"] = VoiceWebhookFixture.AuthToken,
            ["PublicBaseUrl"] = VoiceWebhookFixture.PublicBaseUrl,
            ["Voice:DirectoryCacheTtl"] = "00:00:00",
            // The admitted calls wait on the lock for as long as the test holds it, not for the database budget.
            ["Voice:DatabaseBudget"] = "00:00:10",
            ["Voice:MaxConcurrentWebhooks"] = Capacity.ToString(),
            ["Voice:MaxQueuedWebhooks"] = "4",
            ["Voice:MaxWebhookWait"] = "00:00:00.100",
            ["Alerts:Threshold"] = "5",
        });
        _twilio = new TwilioWebhookClient(_api.CreateClient(), VoiceWebhookFixture.PublicBaseUrl, VoiceWebhookFixture.AuthToken);
        _number = "+9728" + Random.Shared.Next(1_000_000, 9_999_999);
        var created = await _api.CreateCrmClient().PostAsJsonAsync("/api/businesses", new { name = "Shedding", phoneNumbers = new[] { _number }, maxRecordingSeconds = 75 });
        created.EnsureSuccessStatusCode();
        _businessId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task ABurstPastCapacityIsAnsweredAtOnceWithValidTwimlAndNothingIsLost()
    {
        var meter = _api.Services.GetRequiredService<ServiceTelemetry>().Meter;
        using var shed = new CounterTotals("agentlocator.webhooks.shed", m => m == meter, "webhook");

        // Under the limit nothing changes: each call is written before it is answered, and no answer says it was shed.
        var calm = VoiceWebhookFixture.NewCallSid();
        var calmAnswer = await IncomingCallAsync(calm);
        AssertGreeting(await TwimlAsync(calmAnswer), calm);
        Assert.False(calmAnswer.Headers.Contains(WebhookAdmission.ShedHeader));
        Assert.Equal(1, await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1", calm));
        var live = VoiceWebhookFixture.NewCallSid();
        AssertGreeting(await TwimlAsync(await IncomingCallAsync(live)), live);
        Assert.Equal(0, shed.Total);

        // Another session holds the calls table: the admitted calls wait on it and keep every slot busy.
        await using var blocker = new NpgsqlConnection(_database);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE", blocker, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }
        var admittedSids = Enumerable.Range(0, Capacity).Select(_ => VoiceWebhookFixture.NewCallSid()).ToList();
        var admitted = admittedSids.Select(sid => IncomingCallAsync(sid)).ToList();
        // Both hold a slot, and their rows wait on the lock (written together, they may wait in one session).
        var admission = _api.Services.GetRequiredService<WebhookAdmission>();
        Assert.True(await Sql.EventuallyAsync(async () => admission.Statistics?.CurrentAvailablePermits == 0 && await Sql.CountAsync(_database,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") >= 1, Patience),
            "the admitted calls never reached the locked table");

        // The burst: calls (each with Twilio's idempotency token), and the callbacks of the two calls already live.
        var burstSids = Enumerable.Range(0, Burst).Select(_ => VoiceWebhookFixture.NewCallSid()).ToList();
        var tokens = burstSids.ToDictionary(sid => sid, _ => Guid.NewGuid().ToString("D"));
        var burst = burstSids.Select(sid => IncomingCallAsync(sid, tokens[sid])).ToList();
        var status = _twilio.PostAsync("/webhook/call_status", ("CallSid", calm), ("CallStatus", "completed"), ("CallDuration", "42"));
        var streamSid = "MZ" + Guid.NewGuid().ToString("N");
        var streaming = _twilio.PostAsync("/webhook/stream_status", ("CallSid", live), ("StreamSid", streamSid), ("StreamEvent", "stream-started"));
        var recording = _twilio.PostAsync("/webhook/handle_recording", ("CallSid", live), ("RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + Guid.NewGuid().ToString("N")), ("RecordingDuration", "7"));
        var ended = _twilio.PostAsync("/webhook/stream_ended", ("CallSid", live), ("CallStatus", "in-progress"), ("To", _number));
        // A forged call is refused before it could be shed: nothing is deferred for it.
        var forgedSid = VoiceWebhookFixture.NewCallSid();
        var forged = _twilio.PostAsync("/webhook/incoming_call", [new("CallSid", forgedSid), new("From", "+972523334455"), new("To", _number)], sign: false);

        // Every one is answered while the slots are still held: none waited for capacity.
        var answers = await Task.WhenAll(burst).WaitAsync(Patience);
        var statusAnswer = await status.WaitAsync(Patience);
        var streamingAnswer = await streaming.WaitAsync(Patience);
        var recordingAnswer = await recording.WaitAsync(Patience);
        var endedAnswer = await ended.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.Forbidden, (await forged.WaitAsync(Patience)).StatusCode);
        Assert.All(admitted, call => Assert.False(call.IsCompleted));
        for (var i = 0; i < Burst; i++)
        {
            Assert.Contains(answers[i].Headers.GetValues(WebhookAdmission.ShedHeader).Single(), new[] { WebhookAdmission.QueueFull, WebhookAdmission.WaitedTooLong });
            AssertGreeting(await TwimlAsync(answers[i]), burstSids[i]);
        }
        // Twilio does not retry a callback answered 503 (by default it retries only a failed connection): shed callbacks get their 204.
        foreach (var callback in new[] { statusAnswer, streamingAnswer })
        {
            Assert.Equal(HttpStatusCode.NoContent, callback.StatusCode);
            Assert.True(callback.Headers.Contains(WebhookAdmission.ShedHeader));
        }
        Assert.NotNull((await TwimlAsync(recordingAnswer)).Root!.Element("Hangup"));
        var voicemail = await TwimlAsync(endedAnswer);
        Assert.Equal("75", voicemail.Root!.Element("Record")!.Attribute("maxLength")!.Value);
        Assert.EndsWith("/webhook/handle_recording", voicemail.Root!.Element("Record")!.Attribute("action")!.Value);

        await transaction.RollbackAsync();
        foreach (var (call, sid) in (await Task.WhenAll(admitted).WaitAsync(Patience)).Zip(admittedSids))
        {
            Assert.False(call.Headers.Contains(WebhookAdmission.ShedHeader));
            AssertGreeting(await TwimlAsync(call), sid);
        }

        // Nothing lost: every shed call is written, with its business and the call id its stream carries, and so are the status and the fallback.
        var everySid = burstSids.Concat(admittedSids).ToArray();
        Assert.True(await Sql.EventuallyAsync(async () =>
            await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = ANY($1) AND business_id = $2", everySid, _businessId) == everySid.Length
            && await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1 AND status = 'completed' AND duration_seconds = 42", calm) == 1
            && await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1 AND fallback_used AND stream_sid = $2", live, streamSid) == 1
            && await Sql.CountAsync(_database, "SELECT count(*) FROM jobs WHERE type = 'recording.store' AND payload->>'callSid' = $1", live) == 1, Patience),
            "the shed webhooks' writes did not all land");
        for (var i = 0; i < Burst; i++)
        {
            var streamed = CallIdOf(XDocument.Parse(await answers[i].Content.ReadAsStringAsync()));
            Assert.Equal(streamed, await Sql.ScalarAsync<Guid>(_database, "SELECT id FROM calls WHERE call_sid = $1", burstSids[i]));
        }

        // Twilio retrying a shed call gets the answer it got, and the call is still written once.
        var retried = await TwimlAsync(await IncomingCallAsync(burstSids[0], tokens[burstSids[0]]));
        Assert.Equal(CallIdOf(XDocument.Parse(await answers[0].Content.ReadAsStringAsync())), CallIdOf(retried));
        Assert.Equal(1, await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1", burstSids[0]));
        Assert.Equal(0, await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1", forgedSid));

        // Counted by webhook, logged once for the whole burst, alerted past the threshold.
        Assert.Equal(Burst, shed.Count("incoming_call"));
        Assert.Equal(1, shed.Count("call_status"));
        Assert.Equal(1, shed.Count("stream_status"));
        Assert.Equal(1, shed.Count("handle_recording"));
        Assert.Equal(1, shed.Count("stream_ended"));
        Assert.Single(_api.Logs.Lines, line => line.Contains("[WEBHOOK_SHED]", StringComparison.Ordinal));
        Assert.True(_api.Logs.Contains("ALERT webhook_shed: webhooks shed under load"), string.Join('\n', _api.Logs.Lines.Where(l => l.Contains("ALERT"))));
        // No call was logged one line each, and none shows a phone number.
        Assert.DoesNotContain(_api.Logs.Lines, line => burstSids.Any(sid => line.Contains(sid, StringComparison.Ordinal)));
        Assert.DoesNotContain(_api.Logs.Lines, line => line.Contains(_number, StringComparison.Ordinal));

        // Past the burst, calls are served in full again.
        var after = VoiceWebhookFixture.NewCallSid();
        var afterAnswer = await IncomingCallAsync(after);
        AssertGreeting(await TwimlAsync(afterAnswer), after);
        Assert.False(afterAnswer.Headers.Contains(WebhookAdmission.ShedHeader));
        Assert.Equal(1, await Sql.CountAsync(_database, "SELECT count(*) FROM calls WHERE call_sid = $1", after));
    }

    private Task<HttpResponseMessage> IncomingCallAsync(string callSid, string? idempotencyToken = null) =>
        _twilio.PostAsync("/webhook/incoming_call",
            [new("CallSid", callSid), new("From", "+972523334455"), new("To", _number), new("CallStatus", "ringing"), new("Direction", "inbound")],
            headers: idempotencyToken is null ? null : new Dictionary<string, string> { ["I-Twilio-Idempotency-Token"] = idempotencyToken });

    private static async Task<XDocument> TwimlAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store, no-cache, must-revalidate, max-age=0", response.Headers.NonValidated["Cache-Control"].ToString());
        return XDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The greeting and the live stream, for this call of this business, with a token the MediaWorker accepts.</summary>
    private void AssertGreeting(XDocument twiml, string callSid)
    {
        Assert.EndsWith("/greeting_he.mp3", twiml.Root!.Element("Play")!.Value);
        var stream = twiml.Root!.Element("Connect")!.Element("Stream")!;
        var parameters = stream.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal(callSid, parameters["callSid"]);
        Assert.Equal(_businessId, Guid.Parse(parameters["businessId"]));
        Assert.True(new CallToken(VoiceWebhookFixture.AuthToken).Verify(parameters["token"], callSid, Guid.Parse(parameters["callId"]), _businessId));
    }

    private static Guid CallIdOf(XDocument twiml) =>
        Guid.Parse(twiml.Descendants("Parameter").Single(p => p.Attribute("name")!.Value == "callId").Attribute("value")!.Value);
}
