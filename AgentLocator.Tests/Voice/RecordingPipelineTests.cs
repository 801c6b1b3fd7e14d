using AgentLocator.Data.Calls;
using AgentLocator.Data.Storage;
using AgentLocator.MediaWorker.Housekeeping;
using AgentLocator.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentLocator.Tests.Voice;

/// <summary>Voicemail from the Record action to a durable file linked to the call and customer.</summary>
public sealed class RecordingPipelineTests(VoiceWebhookFixture fixture) : IClassFixture<VoiceWebhookFixture>, IAsyncLifetime
{
    private FakeTwilioServer _twilio = null!;

    public async Task InitializeAsync() => _twilio = await FakeTwilioServer.StartAsync();

    public async Task DisposeAsync() => await _twilio.DisposeAsync();

    private async Task<string> StartCallAsync()
    {
        var callSid = VoiceWebhookFixture.NewCallSid();
        var response = await fixture.Twilio.PostAsync("/webhook/incoming_call", ("CallSid", callSid), ("From", "+972529990011"), ("To", fixture.BusinessNumber));
        response.EnsureSuccessStatusCode();
        return callSid;
    }

    [Fact]
    public async Task AVoicemailIsDownloadedOnceReadyStoredAndLinkedAndTheBusinessIsQueuedANotification()
    {
        var wav = new byte[44 + 8000];
        "RIFF"u8.CopyTo(wav);
        Random.Shared.NextBytes(wav.AsSpan(44));
        var recording = _twilio.AddRecording(wav, notReadyRequests: 2);
        await using var worker = MediaWorkerTestHost.Create(fixture.ConnectionString, _twilio.Configuration);
        using var client = worker.CreateClient();
        var storage = worker.Services.GetRequiredService<IOptions<StorageOptions>>().Value;

        var callSid = await StartCallAsync();
        (await fixture.Twilio.PostAsync("/webhook/handle_recording", ("CallSid", callSid), ("RecordingUrl", recording.Url.ToString()),
            ("RecordingDuration", "1"), ("Digits", "#"))).EnsureSuccessStatusCode();

        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(fixture.ConnectionString,
            "SELECT count(*) FROM recordings r JOIN calls c ON c.id = r.call_id WHERE c.call_sid = $1 AND r.status = 'stored'", callSid) == 1,
            TimeSpan.FromSeconds(30)), "the recording was not stored");

        var path = await Sql.ScalarAsync<string>(fixture.ConnectionString,
            "SELECT r.storage_path FROM recordings r JOIN calls c ON c.id = r.call_id WHERE c.call_sid = $1", callSid);
        Assert.Equal(wav, await File.ReadAllBytesAsync(storage.Resolve(path!)));
        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString,
            "SELECT count(*) FROM recordings r JOIN calls c ON c.id = r.call_id AND c.customer_id = r.customer_id WHERE c.call_sid = $1", callSid));
        Assert.Equal(3, _twilio.Requests.Count(r => r.Path.Contains(recording.Sid, StringComparison.Ordinal)));
        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString,
            "SELECT count(*) FROM jobs j JOIN calls c ON j.payload->>'callId' = c.id::text WHERE c.call_sid = $1 AND j.type = $2",
            callSid, LeadNotificationJob.Type));
        Assert.Empty(Directory.GetFiles(storage.TempDirectory));
    }

    [Fact]
    public async Task CleanupDeletesOldTempAudioButNeverARecordingNotYetStored()
    {
        await using var worker = MediaWorkerTestHost.Create(fixture.ConnectionString, _twilio.Configuration,
            extra: new Dictionary<string, string?> { ["Storage:TempRetention"] = "01:00:00" });
        using var client = worker.CreateClient();
        var storage = worker.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        Directory.CreateDirectory(storage.TempDirectory);

        // A recording whose download is in progress (row pending) and one already stored durably.
        var callSid = await StartCallAsync();
        var pendingSid = "RE" + Guid.NewGuid().ToString("N");
        var storedSid = "RE" + Guid.NewGuid().ToString("N");
        await Sql.ScalarAsync<int>(fixture.ConnectionString, """
            INSERT INTO recordings (id, call_id, recording_sid, recording_url, status, created_at)
            SELECT gen_random_uuid(), id, $2, 'https://x/' || $2, 'pending', now() FROM calls WHERE call_sid = $1
            UNION ALL
            SELECT gen_random_uuid(), id, $3, 'https://x/' || $3, 'stored', now() FROM calls WHERE call_sid = $1
            """, callSid, pendingSid, storedSid);

        string Make(string name, TimeSpan age)
        {
            var path = Path.Combine(storage.TempDirectory, name);
            File.WriteAllBytes(path, [1, 2, 3]);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
            return path;
        }
        var oldPending = Make(pendingSid + ".wav.partial", TimeSpan.FromDays(3));
        var oldStored = Make(storedSid + ".wav.partial", TimeSpan.FromDays(3));
        var oldScratch = Make("utterance-scratch.wav", TimeSpan.FromHours(2));
        var fresh = Make("fresh.wav", TimeSpan.FromMinutes(5));

        var deleted = await worker.Services.GetRequiredService<TempAudioCleanup>().RunOnceAsync(CancellationToken.None);

        Assert.True(File.Exists(oldPending), "a recording not yet stored durably must never be deleted");
        Assert.False(File.Exists(oldStored));
        Assert.False(File.Exists(oldScratch));
        Assert.True(File.Exists(fresh));
        Assert.Equal(2, deleted.Count);
    }
}
