using System.ClientModel;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Model;
using AgentLocator.Data.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Jobs;

/// <summary>
/// Runs <see cref="TranscriptionJob"/>: transcribes a stored voicemail, keeps the text on the recording, and queues the
/// business's lead notification (in one transaction) so the transcript goes with it. A provider that is down or
/// rate-limiting is retried with the queue's backoff; a provider that refuses the audio, or the last attempt, lets
/// the notification go without the transcript: the business never loses the voicemail over its text.
/// </summary>
public sealed partial class VoicemailTranscriptionHandler(VoicemailTranscriber transcriber, IOptions<StorageOptions> storage,
    ILogger<VoicemailTranscriptionHandler> logger) : IJobHandler
{
    public string Type => TranscriptionJob.Type;

    public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.GetPayload<TranscriptionJob.Payload>();
        var db = context.Services.GetRequiredService<AgentLocatorDbContext>();
        var recording = await db.Recordings.SingleOrDefaultAsync(r => r.Id == payload.RecordingId, cancellationToken)
            ?? throw new JobFailedException($"recording {payload.RecordingId} does not exist");
        var call = await db.Calls.AsNoTracking().SingleAsync(c => c.Id == recording.CallId, cancellationToken);

        if (recording.Transcript is null && recording is { Status: RecordingStatuses.Stored, StoragePath: { } path })
        {
            try
            {
                recording.Transcript = await transcriber.TranscribeAsync(storage.Value.Resolve(path), cancellationToken);
                recording.TranscribedAt = db.Clock.GetUtcNow();
                LogTranscribed(logger, call.CallSid, recording.Id, recording.Transcript.Length);
            }
            catch (Exception ex) when (IsTransient(ex) && !context.IsLastAttempt && !cancellationToken.IsCancellationRequested)
            {
                throw new JobRetryException($"transcribing recording {recording.Id} failed for now: {ex.Message}", null, ex);
            }
            catch (Exception ex) when (ex is ClientResultException or HttpRequestException or IOException or TaskCanceledException
                && !cancellationToken.IsCancellationRequested)
            {
                LogGaveUp(logger, call.CallSid, recording.Id, ex.Message);
            }
        }

        await RecordingStoreHandler.SaveWithNotificationAsync(db, call, cancellationToken);
    }

    /// <summary>Rate limiting, the provider's own failures, timeouts and lost connections may pass; a refusal of the audio or the key will not.</summary>
    private static bool IsTransient(Exception ex) => ex switch
    {
        ClientResultException { Status: 408 or 409 or 429 or >= 500 } => true,
        ClientResultException { Status: 0 } => true,
        ClientResultException => false,
        HttpRequestException or IOException or TaskCanceledException => true,
        _ => false,
    };

    [LoggerMessage(EventId = 4502, EventName = "VOICEMAIL_TRANSCRIBED", Level = LogLevel.Information,
        Message = "VOICEMAIL_TRANSCRIBED {CallSid} recording {RecordingId}: {Characters} characters")]
    private static partial void LogTranscribed(ILogger logger, string callSid, Guid recordingId, int characters);

    [LoggerMessage(EventId = 4503, EventName = "VOICEMAIL_TRANSCRIPTION_FAILED", Level = LogLevel.Warning,
        Message = "VOICEMAIL_TRANSCRIPTION_FAILED {CallSid} recording {RecordingId}: {Error}; the business is notified without the transcript")]
    private static partial void LogGaveUp(ILogger logger, string callSid, Guid recordingId, string error);
}
