using System.Net;
using System.Xml.Linq;
using AgentLocator.Data.Calls;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Voice;

public sealed class VoiceWebhookTests(VoiceWebhookFixture fixture) : IClassFixture<VoiceWebhookFixture>
{
    private async Task<XDocument> TwimlAsync(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Console.WriteLine(string.Join("\n", fixture.Api.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).Take(2)));
        }
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store, no-cache, must-revalidate, max-age=0", response.Headers.NonValidated["Cache-Control"].ToString());
        Assert.Equal("no-cache", response.Headers.NonValidated["Pragma"].ToString());
        return XDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private Task<HttpResponseMessage> IncomingCallAsync(string callSid, string from = "+972527001122", string? to = null) =>
        fixture.Twilio.PostAsync("/webhook/incoming_call", ("CallSid", callSid), ("AccountSid", "AC123"), ("From", from),
            ("To", to ?? fixture.BusinessNumber), ("CallStatus", "ringing"), ("Direction", "inbound"), ("ApiVersion", "2010-04-01"));

    [Fact]
    public async Task IncomingCallGreetsThenConnectsTheMediaStreamWithAVerifiableToken()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        var twiml = await TwimlAsync(await IncomingCallAsync(callSid));

        var root = twiml.Root!;
        Assert.Equal("Response", root.Name.LocalName);
        var verbs = root.Elements().ToList();
        Assert.Equal("Play", verbs[0].Name.LocalName);
        Assert.Equal("https://Voice.AgentLocator.test/static/tts/greeting_he.mp3", verbs[0].Value);
        var connect = verbs[1];
        Assert.Equal("Connect", connect.Name.LocalName);
        Assert.Equal("https://Voice.AgentLocator.test/webhook/stream_ended", connect.Attribute("action")?.Value);
        var stream = connect.Element("Stream")!;
        Assert.Equal("wss://voice.agentlocator.test/ws/twilio-media", stream.Attribute("url")?.Value);
        Assert.Equal("https://Voice.AgentLocator.test/webhook/stream_status", stream.Attribute("statusCallback")?.Value);
        var parameters = stream.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal(callSid, parameters["callSid"]);
        Assert.Equal(fixture.BusinessId, Guid.Parse(parameters["businessId"]));
        var callId = Guid.Parse(parameters["callId"]);
        Assert.True(new CallToken(VoiceWebhookFixture.AuthToken).Verify(parameters["token"], callSid, callId, fixture.BusinessId));
        Assert.DoesNotContain(VoiceWebhookFixture.AuthToken, twiml.ToString());

        Assert.Equal(callId, await Sql.ScalarAsync<Guid>(fixture.ConnectionString, "SELECT id FROM calls WHERE call_sid = $1", callSid));
        Assert.Equal("+972527001122", await Sql.ScalarAsync<string>(fixture.ConnectionString,
            "SELECT c.phone FROM customers c JOIN calls k ON k.customer_id = c.id WHERE k.call_sid = $1", callSid));
        Assert.Equal("call", await Sql.ScalarAsync<string>(fixture.ConnectionString,
            "SELECT c.source FROM customers c JOIN calls k ON k.customer_id = c.id WHERE k.call_sid = $1", callSid));
    }

    [Fact]
    public async Task AnAnsweredCallWritesNoLogLineAtInformation()
    {
        // The hot path: the call is a span, a row, a metric and a live event; a log line per call cost a console write per webhook.
        var callSid = VoiceWebhookFixture.NewCallSid();
        await TwimlAsync(await IncomingCallAsync(callSid));

        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid));
        Assert.DoesNotContain(fixture.Api.Logs.Lines, line => line.Contains(callSid, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARetriedIncomingCallDoesNotDuplicateTheCallOrTheCustomer()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        var first = await TwimlAsync(await IncomingCallAsync(callSid, from: "+972527009988"));
        var second = await TwimlAsync(await IncomingCallAsync(callSid, from: "+972527009988"));
        string CallId(XDocument d) => d.Descendants("Parameter").Single(p => p.Attribute("name")!.Value == "callId").Attribute("value")!.Value;
        Assert.Equal(CallId(first), CallId(second));
        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid));
        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString, "SELECT count(*) FROM customers WHERE phone = '+972527009988'"));
    }

    [Fact]
    public async Task ABurstOfCallsWrittenTogetherGivesEachCallerTheirOwnCallAndARacingRetryTheFirst()
    {
        // Concurrent incoming_calls share Postgres round trips (the group commit); each TwiML must still carry its own call.
        var callSids = Enumerable.Range(0, 40).Select(_ => VoiceWebhookFixture.NewCallSid()).ToArray();
        var sent = callSids.Select((sid, i) => IncomingCallAsync(sid, from: "+97252710" + i.ToString("D4")))
            .Append(IncomingCallAsync(callSids[0], from: "+972527100000"))
            .ToArray();
        var answers = await Task.WhenAll((await Task.WhenAll(sent)).Select(TwimlAsync));

        string Parameter(XDocument d, string name) => d.Descendants("Parameter").Single(p => p.Attribute("name")!.Value == name).Attribute("value")!.Value;
        // On a loaded machine some answers come within the webhook's database budget before their row is written, which is
        // then written behind (as when Postgres is slow): every row must appear, with the id its TwiML carried.
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(fixture.ConnectionString,
            "SELECT count(*) FROM calls WHERE call_sid = ANY($1)", (object)callSids) == callSids.Length, TimeSpan.FromSeconds(30)),
            "not every call of the burst was recorded within 30 s");
        for (var i = 0; i < callSids.Length; i++)
        {
            Assert.Equal(callSids[i], Parameter(answers[i], "callSid"));
            Assert.Equal(await Sql.ScalarAsync<Guid>(fixture.ConnectionString, "SELECT id FROM calls WHERE call_sid = $1", callSids[i]),
                Guid.Parse(Parameter(answers[i], "callId")));
        }
        Assert.Equal(Parameter(answers[0], "callId"), Parameter(answers[^1], "callId"));
        Assert.Equal(callSids.Length, await Sql.CountAsync(fixture.ConnectionString,
            "SELECT count(*) FROM calls WHERE call_sid = ANY($1)", (object)callSids));
    }

    [Fact]
    public async Task AnonymousCallersBecomeLeadsWithoutAPhone()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        await TwimlAsync(await IncomingCallAsync(callSid, from: "anonymous"));
        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString,
            "SELECT count(*) FROM customers c JOIN calls k ON k.customer_id = c.id WHERE k.call_sid = $1 AND c.phone IS NULL", callSid));
    }

    [Fact]
    public async Task AnUnknownNumberHearsNotInServiceAndNothingIsWritten()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        var twiml = await TwimlAsync(await IncomingCallAsync(callSid, to: "+15005550006"));
        Assert.EndsWith("/static/tts/not_in_service_he.mp3", twiml.Root!.Element("Play")!.Value);
        Assert.NotNull(twiml.Root!.Element("Hangup"));
        Assert.Equal(0, await Sql.CountAsync(fixture.ConnectionString, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid));
        Assert.True(fixture.Api.Logs.Contains("NOT_IN_SERVICE " + callSid));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, "bm90IHRoZSByaWdodCBzaWduYXR1cmU=")]
    public async Task WebhooksWithoutAValidSignatureAreForbiddenAndWriteNothing(bool sign, string? signature)
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        var response = await fixture.Twilio.PostAsync("/webhook/incoming_call",
            [new("CallSid", callSid), new("From", "+972527001122"), new("To", fixture.BusinessNumber)], sign, signature);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("signature", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await Sql.CountAsync(fixture.ConnectionString, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid));

        var status = await fixture.Twilio.PostAsync("/webhook/call_status",
            [new("CallSid", callSid), new("CallStatus", "completed")], sign, signature);
        Assert.Equal(HttpStatusCode.Forbidden, status.StatusCode);
    }

    [Fact]
    public async Task ASignatureForAnotherUrlIsForbidden()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        var form = new[] { new KeyValuePair<string, string>("CallSid", callSid), new("To", fixture.BusinessNumber) };
        var signedForOtherHost = new AgentLocator.Twilio.Security.TwilioRequestSigner(VoiceWebhookFixture.AuthToken)
            .Sign("https://evil.example/webhook/incoming_call", form);
        var response = await fixture.Twilio.PostAsync("/webhook/incoming_call", form, signatureOverride: signedForOtherHost);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task CallStatusNeverMovesACallBackwards()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        await TwimlAsync(await IncomingCallAsync(callSid));
        async Task StatusAsync(string status, string? duration = null)
        {
            var form = new List<KeyValuePair<string, string>> { new("CallSid", callSid), new("CallStatus", status) };
            if (duration is not null)
            {
                form.Add(new("CallDuration", duration));
            }
            Assert.Equal(HttpStatusCode.NoContent, (await fixture.Twilio.PostAsync("/webhook/call_status", form)).StatusCode);
        }
        await StatusAsync("in-progress");
        await StatusAsync("completed", "42");
        await StatusAsync("ringing");
        await StatusAsync("in-progress");
        await StatusAsync("completed", "42");
        Assert.Equal("completed", await Sql.ScalarAsync<string>(fixture.ConnectionString, "SELECT status FROM calls WHERE call_sid = $1", callSid));
        Assert.Equal(42, await Sql.ScalarAsync<int>(fixture.ConnectionString, "SELECT duration_seconds FROM calls WHERE call_sid = $1", callSid));
        Assert.NotNull(await Sql.ScalarAsync<DateTime?>(fixture.ConnectionString, "SELECT ended_at FROM calls WHERE call_sid = $1", callSid));
    }

    [Fact]
    public async Task CallbacksForAnUnknownCallAreAcceptedAndChangeNothing()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        Assert.Equal(HttpStatusCode.NoContent, (await fixture.Twilio.PostAsync("/webhook/call_status", ("CallSid", callSid), ("CallStatus", "completed"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await fixture.Twilio.PostAsync("/webhook/stream_status",
            ("CallSid", callSid), ("StreamSid", "MZ1"), ("StreamEvent", "stream-started"))).StatusCode);
        Assert.Equal(0, await Sql.CountAsync(fixture.ConnectionString, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid));
    }

    [Fact]
    public async Task StreamStatusRecordsStartAndError()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        await TwimlAsync(await IncomingCallAsync(callSid));
        Assert.Equal(HttpStatusCode.NoContent, (await fixture.Twilio.PostAsync("/webhook/stream_status",
            ("CallSid", callSid), ("StreamSid", "MZabc"), ("StreamEvent", "stream-started"), ("Timestamp", "2026-11-21T08:00:00Z"))).StatusCode);
        Assert.True(await Sql.ScalarAsync<bool>(fixture.ConnectionString, "SELECT stream_started FROM calls WHERE call_sid = $1", callSid));
        Assert.Equal("MZabc", await Sql.ScalarAsync<string>(fixture.ConnectionString, "SELECT stream_sid FROM calls WHERE call_sid = $1", callSid));
        Assert.Equal(HttpStatusCode.NoContent, (await fixture.Twilio.PostAsync("/webhook/stream_status",
            ("CallSid", callSid), ("StreamSid", "MZabc"), ("StreamEvent", "stream-error"), ("StreamError", "31921 closed"))).StatusCode);
        Assert.Equal("31921 closed", await Sql.ScalarAsync<string>(fixture.ConnectionString, "SELECT stream_error FROM calls WHERE call_sid = $1", callSid));
        var unknown = await fixture.Twilio.PostAsync("/webhook/stream_status", ("CallSid", callSid), ("StreamEvent", "stream-exploded"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task AStreamThatEndsWithoutAGoodbyeFallsBackToVoicemail()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        await TwimlAsync(await IncomingCallAsync(callSid));
        var twiml = await TwimlAsync(await fixture.Twilio.PostAsync("/webhook/stream_ended", ("CallSid", callSid), ("CallStatus", "in-progress")));

        Assert.EndsWith("/static/tts/fallback_he.mp3", twiml.Root!.Element("Play")!.Value);
        var record = twiml.Root!.Element("Record")!;
        Assert.Equal("https://Voice.AgentLocator.test/webhook/handle_recording", record.Attribute("action")?.Value);
        Assert.Equal("https://Voice.AgentLocator.test/webhook/recording_status", record.Attribute("recordingStatusCallback")?.Value);
        Assert.Equal("90", record.Attribute("maxLength")?.Value);
        Assert.Equal("true", record.Attribute("playBeep")?.Value);
        Assert.Equal("#", record.Attribute("finishOnKey")?.Value);
        Assert.True(fixture.Api.Logs.Contains("FALLBACK_RECORDING " + callSid));
        Assert.Equal("stream_never_started", await Sql.ScalarAsync<string>(fixture.ConnectionString,
            "SELECT fallback_reason FROM calls WHERE call_sid = $1 AND fallback_used", callSid));
    }

    [Fact]
    public async Task AConversationThatReachedItsGoodbyeHangsUp()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        await TwimlAsync(await IncomingCallAsync(callSid));
        await Sql.ScalarAsync<int>(fixture.ConnectionString, "UPDATE calls SET conversation_completed = true, stream_started = true WHERE call_sid = $1", callSid);
        var twiml = await TwimlAsync(await fixture.Twilio.PostAsync("/webhook/stream_ended", ("CallSid", callSid), ("CallStatus", "in-progress")));
        Assert.NotNull(twiml.Root!.Element("Hangup"));
        Assert.Null(twiml.Root!.Element("Record"));
    }

    [Fact]
    public async Task ARecordingIsThankedAtOnceAndQueuedOnceFromBothCallbacks()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        await TwimlAsync(await IncomingCallAsync(callSid));
        var recordingUrl = "https://api.twilio.com/2010-04-01/Accounts/AC123/Recordings/RE" + Guid.NewGuid().ToString("N");
        var twiml = await TwimlAsync(await fixture.Twilio.PostAsync("/webhook/handle_recording",
            ("CallSid", callSid), ("RecordingUrl", recordingUrl), ("RecordingDuration", "7"), ("Digits", "#")));
        Assert.EndsWith("/static/tts/thank_you_he.mp3", twiml.Root!.Element("Play")!.Value);
        Assert.NotNull(twiml.Root!.Element("Hangup"));

        var again = await fixture.Twilio.PostAsync("/webhook/handle_recording", ("CallSid", callSid), ("RecordingUrl", recordingUrl), ("RecordingDuration", "7"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var status = await fixture.Twilio.PostAsync("/webhook/recording_status", ("CallSid", callSid), ("RecordingUrl", recordingUrl),
            ("RecordingSid", recordingUrl[^34..]), ("RecordingStatus", "completed"), ("RecordingDuration", "7"));
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);

        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString,
            "SELECT count(*) FROM jobs WHERE type = 'recording.store' AND payload->>'callSid' = $1", callSid));
    }

    [Fact]
    public async Task MalformedWebhooksGetAClearBadRequest()
    {
        using var raw = fixture.Api.CreateClient();
        var json = await raw.PostAsync("/webhook/incoming_call", new StringContent("{\"CallSid\":\"CA1\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);

        var noSid = await fixture.Twilio.PostAsync("/webhook/incoming_call", ("From", "+972527001122"), ("To", fixture.BusinessNumber));
        Assert.Equal(HttpStatusCode.BadRequest, noSid.StatusCode);
        Assert.Contains("CallSid", await noSid.Content.ReadAsStringAsync());

        var badSid = await fixture.Twilio.PostAsync("/webhook/call_status", ("CallSid", "CA'; DROP TABLE calls;--"), ("CallStatus", "completed"));
        Assert.Equal(HttpStatusCode.BadRequest, badSid.StatusCode);
    }

    [Fact]
    public async Task BodiesOverTheLimitAreRejected()
    {
        var huge = new string('x', 2 * 1024 * 1024);
        var response = await fixture.Twilio.PostAsync("/webhook/incoming_call",
            [new("CallSid", VoiceWebhookFixture.NewCallSid()), new("Junk", huge)],
            headers: new Dictionary<string, string> { ["Expect"] = "100-continue" });
        Assert.True(response.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest, $"got {response.StatusCode}");
    }

    [Fact]
    public async Task XmlHostileCallerDataStillGivesWellFormedTwiml()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        var twiml = await TwimlAsync(await IncomingCallAsync(callSid, from: "client:<Cohen & \"Sons\">\u0001]]>"));
        Assert.Equal("Response", twiml.Root!.Name.LocalName);
    }

    [Theory]
    [InlineData("greeting_he.mp3")]
    [InlineData("fallback_he.mp3")]
    [InlineData("thank_you_he.mp3")]
    public async Task HebrewPromptsAreServedAsCacheableAudio(string file)
    {
        using var client = fixture.Api.CreateClient();
        var response = await client.GetAsync("/static/tts/" + file);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/mpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("public, max-age=3600", response.Headers.CacheControl?.ToString());
        Assert.NotNull(response.Headers.ETag);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(bytes.Length > 2000, "a spoken prompt is more than a header");
        Assert.True(bytes[0] == 0xFF || (bytes[0] == 'I' && bytes[1] == 'D' && bytes[2] == '3'), "an MP3 starts with a frame sync or an ID3 tag");
        var notModified = new HttpRequestMessage(HttpMethod.Get, "/static/tts/" + file);
        notModified.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(notModified)).StatusCode);
    }
}
