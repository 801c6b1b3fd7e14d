using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Data.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.WhatsApp;

/// <summary>
/// Stored audio behind signed, expiring links (<see cref="MediaLinks"/>): the voicemail and the
/// caller's answers a lead notification points to. No API key: the signature is the permission.
/// </summary>
public static partial class MediaApi
{
    public static IEndpointRouteBuilder MapMediaApi(this IEndpointRouteBuilder endpoints)
    {
        var media = endpoints.MapGroup("/media").WithTags("Media");
        media.MapGet("/recordings/{id:guid}", RecordingAsync).WithName("GetRecordingAudio");
        media.MapGet("/utterances/{id:guid}", UtteranceAsync).WithName("GetUtteranceAudio");
        return endpoints;
    }

    public static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> RecordingAsync(
        Guid id, string? exp, string? sig, HttpResponse response, AgentLocatorDbContext db, MediaLinks links, IOptions<StorageOptions> storage,
        TimeProvider clock, ILogger<MediaLog> logger, CancellationToken cancellationToken)
    {
        if (Check(links, MediaLinks.Recordings, id, exp, sig, clock) is { } refused)
        {
            return refused;
        }
        var recording = await db.Recordings.AsNoTracking()
            .Where(r => r.Id == id && r.Status == RecordingStatuses.Stored)
            .Select(r => new { r.StoragePath, r.ContentType })
            .SingleOrDefaultAsync(cancellationToken);
        return Serve(response, storage.Value, recording?.StoragePath, recording?.ContentType, "Recording", id, logger);
    }

    public static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> UtteranceAsync(
        Guid id, string? exp, string? sig, HttpResponse response, AgentLocatorDbContext db, MediaLinks links, IOptions<StorageOptions> storage,
        TimeProvider clock, ILogger<MediaLog> logger, CancellationToken cancellationToken)
    {
        if (Check(links, MediaLinks.Utterances, id, exp, sig, clock) is { } refused)
        {
            return refused;
        }
        var path = await db.Utterances.AsNoTracking().Where(u => u.Id == id).Select(u => u.AudioPath).SingleOrDefaultAsync(cancellationToken);
        return Serve(response, storage.Value, path, "audio/wav", "Utterance", id, logger);
    }

    private static ProblemHttpResult? Check(MediaLinks links, string kind, Guid id, string? exp, string? sig, TimeProvider clock) =>
        links.Verify(kind, id, exp, sig, clock.GetUtcNow()) switch
        {
            MediaLinkCheck.Valid => null,
            MediaLinkCheck.Expired => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Link expired",
                detail: "This audio link has expired; open the call in the CRM for a fresh one."),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Invalid link",
                detail: "This audio link is not signed for this file (exp and sig must be the ones AgentLocator sent)."),
        };

    private static Results<PhysicalFileHttpResult, ProblemHttpResult> Serve(HttpResponse response, StorageOptions storage, string? relativePath,
        string? contentType, string what, Guid id, ILogger logger)
    {
        string? full = null;
        if (!string.IsNullOrEmpty(relativePath))
        {
            try
            {
                full = storage.Resolve(relativePath);
            }
            catch (ArgumentException)
            {
                LogPathRefused(logger, what, id);
            }
        }
        if (full is null || !File.Exists(full))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"{what} not found",
                detail: $"No stored audio for {what.ToLowerInvariant()} {id}.");
        }
        response.Headers.CacheControl = "private, max-age=300";
        return TypedResults.PhysicalFile(full, string.IsNullOrEmpty(contentType) ? "audio/wav" : contentType, enableRangeProcessing: true);
    }

    [LoggerMessage(EventId = 3311, EventName = "MEDIA_PATH_REFUSED", Level = LogLevel.Warning,
        Message = "MEDIA_PATH_REFUSED {What} {Id}: its stored path is outside the storage directory")]
    private static partial void LogPathRefused(ILogger logger, string what, Guid id);
}

/// <summary>The log category of the media endpoints.</summary>
public sealed class MediaLog;
