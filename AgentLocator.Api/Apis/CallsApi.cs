using AgentLocator.Api.Contracts;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Data.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Api.Apis;

public static class CallsApi
{
    /// <summary>A call with no final status after this long lost its status callback: it is no longer listed as in progress.</summary>
    public static readonly TimeSpan InProgressWindow = TimeSpan.FromHours(2);

    /// <summary>How long the signed audio links in a call's response work.</summary>
    public static readonly TimeSpan MediaLinkLifetime = TimeSpan.FromHours(12);

    public static RouteGroupBuilder MapCallsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/calls").WithTags("Calls");
        group.MapGet("/", ListAsync).WithName("ListCalls")
            .WithDescription("A business's calls: oldest first, or newest first with newestFirst=true; filter by leadStatus, source (live or voicemail), from and to; " +
                "inProgress=true gives only the calls still going on (not ended, begun within the last two hours).");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetCall")
            .WithDescription("One call with its transcript and signed audio links; with businessId, only if it is that business's.");
        group.MapPatch("/{id:guid}/lead", UpdateLeadAsync).WithName("UpdateLead")
            .WithDescription("The owner's follow-up: leadStatus (new, called_back, closed), ownerNote, read.");
        return api;
    }

    public static async Task<Results<Ok<Page<CallResponse>>, ValidationProblem>> ListAsync(
        Guid? businessId, int? limit, string? cursor, bool? newestFirst, string? leadStatus, string? source,
        DateTimeOffset? from, DateTimeOffset? to, bool? inProgress, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        Cursor.ValidatePage(validation, limit, cursor, out var take, out var after);
        if (businessId is null)
        {
            validation.Add("businessId", ValidationCodes.Required, "businessId is required.");
        }
        if (leadStatus is not null && !LeadStatuses.All.Contains(leadStatus))
        {
            validation.Add("leadStatus", ValidationCodes.UnknownValue, $"leadStatus must be one of: {string.Join(", ", LeadStatuses.All)}.");
        }
        if (source is not null && source is not (CallSources.Live or CallSources.Voicemail))
        {
            validation.Add("source", ValidationCodes.UnknownValue, $"source must be {CallSources.Live} or {CallSources.Voicemail}.");
        }
        if (from > to)
        {
            validation.Add("from", ValidationCodes.OutOfRange, "from must not be after to.");
        }
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        var query = db.Calls.AsNoTracking().Where(c => c.BusinessId == businessId);
        if (leadStatus is not null)
        {
            query = query.Where(c => c.LeadStatus == leadStatus);
        }
        if (source is not null)
        {
            var voicemail = source == CallSources.Voicemail;
            query = query.Where(c => c.FallbackUsed == voicemail);
        }
        if (from is { } since)
        {
            query = query.Where(c => c.StartedAt >= since);
        }
        if (to is { } until)
        {
            query = query.Where(c => c.StartedAt < until);
        }
        if (inProgress == true)
        {
            var startedAfter = db.Clock.GetUtcNow() - InProgressWindow;
            string[] going = [CallStatuses.Queued, CallStatuses.Initiated, CallStatuses.Ringing, CallStatuses.InProgress];
            query = query.Where(c => c.EndedAt == null && going.Contains(c.Status) && c.StartedAt > startedAfter);
        }
        var descending = newestFirst == true;
        if (after is { } afterId)
        {
            query = descending ? query.Where(c => c.Id.CompareTo(afterId) < 0) : query.Where(c => c.Id.CompareTo(afterId) > 0);
        }
        var ordered = descending ? query.OrderByDescending(c => c.Id) : query.OrderBy(c => c.Id);
        var items = await ordered.Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(Cursor.ToPage(items, take, CallResponse.FromCall, c => c.Id));
    }

    public static async Task<Results<Ok<CallResponse>, ProblemHttpResult>> GetAsync(
        Guid id, Guid? businessId, AgentLocatorDbContext db, MediaLinks links, CancellationToken cancellationToken)
    {
        var call = await db.Calls.AsNoTracking()
            .SingleOrDefaultAsync(c => c.Id == id && (businessId == null || c.BusinessId == businessId), cancellationToken);
        if (call is null)
        {
            return Problems.NotFound("Call", id);
        }
        var transcript = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == id)
            .OrderBy(t => t.Sequence).ThenBy(t => t.CreatedAt).ToListAsync(cancellationToken);
        var recordings = await db.Recordings.AsNoTracking().Where(r => r.CallId == id)
            .OrderBy(r => r.CreatedAt).ToListAsync(cancellationToken);
        var utterances = await db.Utterances.AsNoTracking().Where(u => u.CallId == id)
            .OrderBy(u => u.Sequence).ToListAsync(cancellationToken);
        var expires = db.Clock.GetUtcNow() + MediaLinkLifetime;
        return TypedResults.Ok(CallResponse.FromCall(call) with
        {
            Transcript = transcript.Select(TranscriptTurnResponse.From).ToList(),
            VoicemailTranscript = recordings.LastOrDefault(r => r.Transcript != null)?.Transcript,
            Recordings = recordings.Select(r => new CallAudioResponse(r.Id, r.Status == RecordingStatuses.Stored
                ? links.CreatePath(MediaLinks.Recordings, r.Id, expires) : null, r.DurationSeconds, r.Transcript, r.CreatedAt)).ToList(),
            Utterances = utterances.Select(u => new CallAudioResponse(u.Id, links.CreatePath(MediaLinks.Utterances, u.Id, expires),
                u.DurationMs / 1000, u.Transcript, u.CreatedAt, u.Slot)).ToList(),
        });
    }

    public static async Task<Results<Ok<CallResponse>, ValidationProblem, ProblemHttpResult>> UpdateLeadAsync(
        Guid id, Guid? businessId, LeadUpdateRequest request, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var status = request.LeadStatus?.Trim().ToLowerInvariant();
        if (status is not null && !LeadStatuses.All.Contains(status))
        {
            validation.Add("leadStatus", ValidationCodes.UnknownValue, $"leadStatus must be one of: {string.Join(", ", LeadStatuses.All)}.");
        }
        var note = validation.OptionalText("ownerNote", request.OwnerNote, 4000);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        var call = await db.Calls.SingleOrDefaultAsync(c => c.Id == id && (businessId == null || c.BusinessId == businessId), cancellationToken);
        if (call is null)
        {
            return Problems.NotFound("Call", id);
        }
        if (status is not null)
        {
            call.LeadStatus = status;
        }
        if (request.OwnerNote is not null)
        {
            call.OwnerNote = note;
        }
        if (request.Read is { } read)
        {
            call.ReadAt = read ? call.ReadAt ?? db.Clock.GetUtcNow() : null;
        }
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(CallResponse.FromCall(call));
    }
}

/// <summary>Where a lead came from: the live conversation, or the voicemail it fell back to.</summary>
public static class CallSources
{
    public const string Live = "live";
    public const string Voicemail = "voicemail";
}
