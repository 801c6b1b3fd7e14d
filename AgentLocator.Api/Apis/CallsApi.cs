using AgentLocator.Api.Contracts;
using AgentLocator.Data.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Api.Apis;

public static class CallsApi
{
    public static RouteGroupBuilder MapCallsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/calls").WithTags("Calls");
        group.MapGet("/", ListAsync).WithName("ListCalls");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetCall");
        return api;
    }

    public static async Task<Results<Ok<Page<CallResponse>>, ValidationProblem>> ListAsync(
        Guid? businessId, int? limit, string? cursor, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        Cursor.ValidatePage(validation, limit, cursor, out var take, out var after);
        if (businessId is null)
        {
            validation.Add("businessId", "businessId is required.");
        }
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        var query = db.Calls.AsNoTracking().Where(c => c.BusinessId == businessId);
        if (after is { } afterId)
        {
            query = query.Where(c => c.Id.CompareTo(afterId) > 0);
        }
        var items = await query.OrderBy(c => c.Id).Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(Cursor.ToPage(items, take, CallResponse.FromCall, c => c.Id));
    }

    public static async Task<Results<Ok<CallResponse>, ProblemHttpResult>> GetAsync(Guid id, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var call = await db.Calls.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (call is null)
        {
            return Problems.NotFound("Call", id);
        }
        var transcript = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == id)
            .OrderBy(t => t.Sequence).ThenBy(t => t.CreatedAt).ToListAsync(cancellationToken);
        var voicemail = await db.Recordings.AsNoTracking().Where(r => r.CallId == id && r.Transcript != null)
            .OrderByDescending(r => r.CreatedAt).Select(r => r.Transcript).FirstOrDefaultAsync(cancellationToken);
        return TypedResults.Ok(CallResponse.FromCall(call) with
        {
            Transcript = transcript.Select(TranscriptTurnResponse.From).ToList(),
            VoicemailTranscript = voicemail,
        });
    }
}
