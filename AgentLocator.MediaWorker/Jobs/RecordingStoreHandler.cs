using AgentLocator.Data.Calls;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Model;
using AgentLocator.Data.Storage;
using AgentLocator.Twilio.Rest;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Jobs;

/// <summary>
/// Fetches a voicemail from Twilio once it is ready, stores it under the storage directory,
/// links it to the call and the customer, and queues the business's lead notification — in
/// one transaction, so a crash at any point leaves a job that simply runs again.
/// </summary>
public sealed partial class RecordingStoreHandler(IOptions<StorageOptions> storage, ILogger<RecordingStoreHandler> logger) : IJobHandler
{
    /// <summary>Twilio usually finishes a recording within seconds of the call.</summary>
    public static readonly TimeSpan NotReadyDelay = TimeSpan.FromSeconds(3);

    public string Type => RecordingJob.Type;

    public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.GetPayload<RecordingJob.Payload>();
        var store = context.Services.GetRequiredService<CallStore>();
        var db = store.Db;
        var call = await store.GetCallAsync(payload.CallSid, cancellationToken)
            ?? throw new JobRetryException($"call {payload.CallSid} is not recorded yet", NotReadyDelay);

        var recording = await db.Recordings.SingleOrDefaultAsync(r => r.RecordingSid == payload.RecordingSid, cancellationToken);
        if (recording is null)
        {
            recording = new Recording
            {
                CallId = call.Id,
                CustomerId = call.CustomerId,
                RecordingSid = payload.RecordingSid,
                RecordingUrl = payload.RecordingUrl,
                DurationSeconds = payload.DurationSeconds,
            };
            db.Recordings.Add(recording);
            await db.SaveChangesAsync(cancellationToken);
        }
        if (recording.Status == RecordingStatuses.Stored)
        {
            return;
        }
        if (payload.Status == "failed")
        {
            recording.Status = RecordingStatuses.Failed;
            await SaveWithNotificationAsync(db, call, cancellationToken);
            return;
        }

        var options = storage.Value;
        Directory.CreateDirectory(options.TempDirectory);
        var temp = Path.Combine(options.TempDirectory, payload.RecordingSid + ".wav.partial");
        var twilio = context.Services.GetRequiredService<TwilioRestApi>();
        var result = await twilio.DownloadRecordingToFileAsync(payload.RecordingUrl, temp, RecordingFormat.Wav, cancellationToken);
        if (result.IsNotReady)
        {
            throw new JobRetryException($"recording {payload.RecordingSid} is not ready at Twilio yet", NotReadyDelay);
        }

        var at = call.StartedAt.UtcDateTime;
        var folder = Path.Combine(options.RecordingsDirectory, at.ToString("yyyy"), at.ToString("MM"));
        Directory.CreateDirectory(folder);
        var final = Path.Combine(folder, $"{payload.CallSid}_{payload.RecordingSid}.wav");
        File.Move(temp, final, overwrite: true);

        recording.Status = RecordingStatuses.Stored;
        recording.StoragePath = options.Relative(final);
        recording.SizeBytes = result.Bytes;
        recording.ContentType = "audio/wav";
        recording.StoredAt = db.Clock.GetUtcNow();
        recording.DurationSeconds ??= payload.DurationSeconds;
        if (context.Services.GetService<VoicemailTranscriber>() is { Enabled: true } && !call.IsTest)
        {
            // The transcription job queues the notification once the text is there.
            await SaveWithJobAsync(db, TranscriptionJob.Type, new TranscriptionJob.Payload(recording.Id), TranscriptionJob.DedupKey(recording.Id), cancellationToken);
        }
        else
        {
            await SaveWithNotificationAsync(db, call, cancellationToken);
        }
        LogStored(logger, payload.CallSid, payload.RecordingSid, result.Bytes);
    }

    /// <summary>The recording's changes and the business's lead notification (none for test traffic), in one transaction.</summary>
    internal static Task SaveWithNotificationAsync(Data.Infrastructure.AgentLocatorDbContext db, Call call, CancellationToken cancellationToken) =>
        call.IsTest
            ? SaveWithJobAsync(db, null, null, null, cancellationToken)
            : SaveWithJobAsync(db, LeadNotificationJob.Type, new LeadNotificationJob.Payload(call.Id), LeadNotificationJob.DedupKey(call.Id), cancellationToken);

    /// <summary>
    /// The tracked changes and the next job in one transaction, replayed whole by the retrying execution strategy:
    /// changes are accepted only once the commit succeeded, so a replay writes them again.
    /// </summary>
    private static async Task SaveWithJobAsync(Data.Infrastructure.AgentLocatorDbContext db, string? type, object? payload, string? dedupKey,
        CancellationToken cancellationToken)
    {
        await db.Database.CreateExecutionStrategy().ExecuteAsync(async ct =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            await db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
            if (type is not null)
            {
                await JobQueue.EnqueueOnceAsync(db, type, payload!, dedupKey!, cancellationToken: ct);
            }
            await transaction.CommitAsync(ct);
        }, cancellationToken);
        db.ChangeTracker.AcceptAllChanges();
    }

    [LoggerMessage(EventId = 4501, EventName = "RECORDING_STORED", Level = LogLevel.Information,
        Message = "RECORDING_STORED {CallSid} {RecordingSid} ({Bytes} bytes)")]
    private static partial void LogStored(ILogger logger, string callSid, string recordingSid, long bytes);
}
