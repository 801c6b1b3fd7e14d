using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Storage;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.WhatsApp;

/// <summary>The business hears about every lead on WhatsApp, once, with links to the caller's audio.</summary>
/// <remarks>
/// The tests share one jobs table (the class's own fixture) and a worker takes any due job, yet unlike
/// <see cref="WhatsAppSendTests"/> they need no drain between tests: every test works its lead job at least
/// until its MessageSid is recorded (or it is dead or skipped), and a lead job run again for a call whose
/// notification has a MessageSid or failed sends nothing (LEAD_NOTIFY_DONE_BEFORE), so a job a stopped
/// worker handed back cannot take the next test's injected Twilio failure. A test that queues a lead job
/// and ends before its notification is sent would break this: drain the queue as WhatsAppSendTests does.
/// </remarks>
public sealed partial class LeadNotificationTests(WhatsAppFixture fixture) : IClassFixture<WhatsAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const string Caller = "+972529876543";

    private async Task<(Guid CallId, Guid CustomerId)> StartCallAsync(TestBusiness business)
    {
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        var response = await fixture.Webhooks.PostAsync("/webhook/incoming_call", ("CallSid", callSid), ("From", Caller), ("To", business.PhoneNumber));
        response.EnsureSuccessStatusCode();
        var callId = await fixture.ScalarAsync<Guid>("SELECT id FROM calls WHERE call_sid = $1", callSid);
        var customerId = await fixture.ScalarAsync<Guid>("SELECT customer_id FROM calls WHERE call_sid = $1", callSid);
        return (callId, customerId);
    }

    private async Task<byte[]> StoreAudioAsync(string relativePath)
    {
        var bytes = new byte[44 + 1600];
        "RIFF"u8.CopyTo(bytes);
        Random.Shared.NextBytes(bytes.AsSpan(44));
        var full = Path.Combine(fixture.StorageDirectory, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await File.WriteAllBytesAsync(full, bytes);
        return bytes;
    }

    private async Task<(Guid Id, byte[] Audio)> AddUtteranceAsync(Guid callId, Guid customerId, int sequence, string slot, string? transcript)
    {
        var id = Guid.CreateVersion7();
        var path = $"utterances/{callId:N}/{sequence}_{slot}.wav";
        var audio = await StoreAudioAsync(path);
        await fixture.ScalarAsync<int>("""
            INSERT INTO utterances (id, call_id, customer_id, sequence, slot, audio_path, duration_ms, transcript, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, 1200, $7, now())
            """, id, callId, customerId, sequence, slot, path, transcript);
        return (id, audio);
    }

    private async Task<Guid> AddRecordingAsync(Guid callId, string status, string? storagePath)
    {
        var id = Guid.CreateVersion7();
        await fixture.ScalarAsync<int>("""
            INSERT INTO recordings (id, call_id, recording_sid, recording_url, duration_seconds, status, storage_path, content_type, created_at)
            VALUES ($1, $2, $3, 'https://api.twilio.com/rec', 14, $4, $5, 'audio/wav', now())
            """, id, callId, "RE" + Guid.NewGuid().ToString("N"), status, storagePath);
        return id;
    }

    private Task EnqueueAsync(Guid callId, string? dedupKey = null) => fixture.ScalarAsync<int>("""
        INSERT INTO jobs (type, payload, dedup_key, status, attempts, max_attempts, run_at, created_at, updated_at)
        VALUES ($1, $2::jsonb, $3, 'pending', 0, 8, now(), now(), now())
        """, LeadNotificationJob.Type, JsonSerializer.Serialize(new { callId }), dedupKey ?? LeadNotificationJob.DedupKey(callId));

    private async Task<FakeTwilioMessage> WaitForNotificationAsync(TestBusiness business)
    {
        var to = "whatsapp:" + business.NotificationPhone;
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(fixture.Twilio.Messages.Any(m => m.To == to)), Timeout), "no notification was sent");
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.CountAsync(
            "SELECT count(*) FROM messages WHERE \"to\" = $1 AND message_sid IS NOT NULL", to) == 1, Timeout), "the notification's MessageSid was not recorded");
        return Assert.Single(fixture.Twilio.Messages, m => m.To == to);
    }

    private Task<bool> JobsDoneAsync(Guid callId) => Sql.EventuallyAsync(async () => await fixture.CountAsync(
        "SELECT count(*) FROM jobs WHERE type = $1 AND payload->>'callId' = $2 AND status NOT IN ('succeeded', 'dead')",
        LeadNotificationJob.Type, callId.ToString()) == 0, Timeout);

    private static List<string> Links(string body) => LinkPattern().Matches(body).Select(m => m.Value).ToList();

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex LinkPattern();

    private async Task<HttpResponseMessage> GetLinkAsync(string link)
    {
        Assert.StartsWith(fixture.PublicBaseUrl + "/media/", link, StringComparison.Ordinal);
        using var client = fixture.Api.CreateClient();
        return await client.GetAsync(link[fixture.PublicBaseUrl.Length..]);
    }

    [Fact]
    public async Task AFinishedConversationIsSentToTheBusinessInHebrewWithWorkingLinksToEachAnswer()
    {
        var business = await fixture.CreateBusinessAsync();
        var (callId, customerId) = await StartCallAsync(business);
        var name = await AddUtteranceAsync(callId, customerId, 1, "name", "דנה לוי");
        var reason = await AddUtteranceAsync(callId, customerId, 2, "reason", null);
        var callback = await AddUtteranceAsync(callId, customerId, 3, "callback_time", null);
        await using var worker = fixture.StartWorker();

        await EnqueueAsync(callId);

        var sent = await WaitForNotificationAsync(business);
        Assert.Equal("whatsapp:" + business.WhatsAppNumber, sent.From);
        Assert.Equal(fixture.PublicBaseUrl + "/whatsapp/status", sent.StatusCallback);
        var body = sent.Body!;
        Assert.Contains(Caller, body, StringComparison.Ordinal);
        Assert.Contains("פנייה חדשה", body, StringComparison.Ordinal);
        Assert.Contains("שם: דנה לוי", body, StringComparison.Ordinal);
        Assert.Contains("סיבת הפנייה", body, StringComparison.Ordinal);
        Assert.Contains("זמן נוח לחזרה", body, StringComparison.Ordinal);
        var links = Links(body);
        Assert.Equal(3, links.Count);
        Assert.Contains($"/media/utterances/{name.Id:D}?", links[0], StringComparison.Ordinal);
        foreach (var (link, audio) in links.Zip([name.Audio, reason.Audio, callback.Audio]))
        {
            using var response = await GetLinkAsync(link);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("audio/wav", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(audio, await response.Content.ReadAsByteArrayAsync());
        }
        Assert.Equal(1, await fixture.CountAsync("""
            SELECT count(*) FROM messages WHERE call_id = $1 AND purpose = 'lead_notification' AND direction = 'outbound'
              AND business_id = $2 AND customer_id IS NULL AND status = 'queued'
            """, callId, business.Id));
    }

    [Fact]
    public async Task AVoicemailLeadLinksTheStoredRecording()
    {
        var business = await fixture.CreateBusinessAsync();
        var (callId, _) = await StartCallAsync(business);
        var path = $"recordings/2026/11/{callId:N}.wav";
        var audio = await StoreAudioAsync(path);
        await AddRecordingAsync(callId, "stored", path);
        await using var worker = fixture.StartWorker();

        await EnqueueAsync(callId);

        var body = (await WaitForNotificationAsync(business)).Body!;
        Assert.Contains("הודעה קולית (14 שניות)", body, StringComparison.Ordinal);
        var link = Assert.Single(Links(body));
        Assert.Contains("/media/recordings/", link, StringComparison.Ordinal);
        using var response = await GetLinkAsync(link);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(audio, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AudioLinksAreRefusedWhenForgedBorrowedOrExpiredAndNeverServeFilesOutsideStorage()
    {
        var business = await fixture.CreateBusinessAsync();
        var (callId, customerId) = await StartCallAsync(business);
        var utterance = await AddUtteranceAsync(callId, customerId, 1, "name", null);
        var other = await AddUtteranceAsync(callId, customerId, 2, "reason", null);
        var escaping = await AddRecordingAsync(callId, "stored", "../../../../etc/passwd");
        var links = new MediaLinks(WhatsAppFixture.MediaSecret);
        var valid = links.CreatePath(MediaLinks.Utterances, utterance.Id, DateTimeOffset.UtcNow.AddHours(1));
        using var client = fixture.Api.CreateClient();

        var ok = await client.GetAsync(valid);
        var borrowed = await client.GetAsync(valid.Replace(utterance.Id.ToString("D"), other.Id.ToString("D"), StringComparison.Ordinal));
        var extended = await client.GetAsync(Regex.Replace(valid, @"exp=\d+", "exp=9999999999"));
        var unsigned = await client.GetAsync($"/media/utterances/{utterance.Id:D}");
        var expired = await client.GetAsync(links.CreatePath(MediaLinks.Utterances, utterance.Id, DateTimeOffset.UtcNow.AddMinutes(-1)));
        var wrongKind = await client.GetAsync(links.CreatePath(MediaLinks.Utterances, escaping, DateTimeOffset.UtcNow.AddHours(1)).Replace("/utterances/", "/recordings/", StringComparison.Ordinal));
        var outside = await client.GetAsync(links.CreatePath(MediaLinks.Recordings, escaping, DateTimeOffset.UtcNow.AddHours(1)));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(utterance.Audio, await ok.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.Forbidden, borrowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, extended.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);
        Assert.Contains("expired", await expired.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, wrongKind.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
        Assert.DoesNotContain("root:", await outside.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(fixture.Api.Logs.Contains("MEDIA_PATH_REFUSED"));
    }

    [Fact]
    public async Task ALeadIsNotifiedOnceEvenWhenItsJobRunsAgain()
    {
        var business = await fixture.CreateBusinessAsync();
        var (callId, customerId) = await StartCallAsync(business);
        await AddUtteranceAsync(callId, customerId, 1, "reason", null);
        await using var worker = fixture.StartWorker();

        await EnqueueAsync(callId);
        await WaitForNotificationAsync(business);
        await EnqueueAsync(callId, dedupKey: "lead-again:" + callId.ToString("N"));
        await EnqueueAsync(callId, dedupKey: "lead-third:" + callId.ToString("N"));

        Assert.True(await JobsDoneAsync(callId));
        Assert.Equal(3, await fixture.CountAsync("SELECT count(*) FROM jobs WHERE type = $1 AND payload->>'callId' = $2 AND status = 'succeeded'",
            LeadNotificationJob.Type, callId.ToString()));
        Assert.Single(fixture.Twilio.Messages, m => m.To == "whatsapp:" + business.NotificationPhone);
        Assert.Equal(1, await fixture.CountAsync("SELECT count(*) FROM messages WHERE call_id = $1", callId));
    }

    [Fact]
    public async Task WithALeadTemplateConfiguredTheNotificationIsATemplate()
    {
        const string template = "HXabcdefabcdefabcdefabcdefabcdefab";
        var business = await fixture.CreateBusinessAsync();
        var (callId, customerId) = await StartCallAsync(business);
        await AddUtteranceAsync(callId, customerId, 1, "name", "יוסי\nכהן");
        await using var worker = fixture.StartWorker(new Dictionary<string, string?> { ["WhatsApp:LeadTemplateContentSid"] = template });

        await EnqueueAsync(callId);

        var sent = await WaitForNotificationAsync(business);
        Assert.Equal(template, sent.ContentSid);
        Assert.Null(sent.Body);
        var variables = JsonDocument.Parse(sent.ContentVariables!).RootElement;
        Assert.Equal(Caller, variables.GetProperty("1").GetString());
        Assert.Equal("שם: יוסי כהן", variables.GetProperty("2").GetString());
        Assert.StartsWith(fixture.PublicBaseUrl + "/media/utterances/", variables.GetProperty("3").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANotificationTwilioRefusesIsRecordedAsFailedAndNeitherRetriedNorResent()
    {
        var business = await fixture.CreateBusinessAsync();
        var (callId, customerId) = await StartCallAsync(business);
        await AddUtteranceAsync(callId, customerId, 1, "reason", null);
        fixture.Twilio.FailNext(1, FakeTwilioFailure.WhatsAppOutsideWindow(), "Messages.json");
        await using var worker = fixture.StartWorker();

        await EnqueueAsync(callId);
        Assert.True(await JobsDoneAsync(callId));
        await EnqueueAsync(callId, dedupKey: "lead-again:" + callId.ToString("N"));
        Assert.True(await JobsDoneAsync(callId));

        Assert.Equal("dead", await fixture.ScalarAsync<string>("SELECT status FROM jobs WHERE dedup_key = $1", LeadNotificationJob.DedupKey(callId)));
        Assert.Equal(1, await fixture.ScalarAsync<int>("SELECT attempts FROM jobs WHERE dedup_key = $1", LeadNotificationJob.DedupKey(callId)));
        Assert.Equal("63016", await fixture.ScalarAsync<string>("SELECT error_code FROM messages WHERE call_id = $1 AND status = 'failed'", callId));
        Assert.Equal(1, fixture.Twilio.Requests.Count(r => r.FormValue("To") == "whatsapp:" + business.NotificationPhone));
    }

    [Fact]
    public async Task ABusinessWithoutAWhatsAppSenderIsSkippedWithoutFailing()
    {
        var business = await fixture.CreateBusinessAsync(withWhatsApp: false);
        var (callId, _) = await StartCallAsync(business);
        await using var worker = fixture.StartWorker();

        await EnqueueAsync(callId);

        Assert.True(await JobsDoneAsync(callId));
        Assert.Equal("succeeded", await fixture.ScalarAsync<string>("SELECT status FROM jobs WHERE dedup_key = $1", LeadNotificationJob.DedupKey(callId)));
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM messages WHERE call_id = $1", callId));
        Assert.True(worker.Logs.Contains("LEAD_NOTIFY_SKIPPED"));
    }
}
