using AgentLocator.Api.Contracts;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Api.Apis;

public static class BusinessesApi
{
    public const int MaxInstructionsLength = 8000;

    /// <summary>The OpenAI Realtime voices (the provider's list as of 2026-12).</summary>
    public static readonly string[] AssistantVoices = ["alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse"];

    public static RouteGroupBuilder MapBusinessesApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/businesses").WithTags("Businesses");
        group.MapGet("/", ListAsync).WithName("ListBusinesses");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetBusiness");
        group.MapPost("/", CreateAsync).WithName("CreateBusiness");
        group.MapPut("/{id:guid}", UpdateAsync).WithName("UpdateBusiness");
        group.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteBusiness");
        return api;
    }

    public static async Task<Results<Ok<Page<BusinessResponse>>, ValidationProblem>> ListAsync(
        AgentLocatorDbContext db, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        Cursor.ValidatePage(validation, limit, cursor, out var take, out var after);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        var query = db.Businesses.AsNoTracking().Include(b => b.PhoneNumbers).Where(b => b.DeletedAt == null);
        if (after is { } afterId)
        {
            query = query.Where(b => b.Id.CompareTo(afterId) > 0);
        }
        var items = await query.OrderBy(b => b.Id).Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(Cursor.ToPage(items, take, BusinessResponse.From, b => b.Id));
    }

    public static async Task<Results<Ok<BusinessResponse>, ProblemHttpResult>> GetAsync(
        Guid id, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var business = await FindAsync(db, id, cancellationToken);
        return business is null ? Problems.NotFound("Business", id) : TypedResults.Ok(BusinessResponse.From(business));
    }

    public static async Task<Results<Created<BusinessResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        BusinessRequest request, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var business = new Business { Name = "" };
        var validation = Apply(request, business);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        if (await NumbersTakenAsync(db, business, cancellationToken) is { } conflict)
        {
            return conflict;
        }
        db.Businesses.Add(business);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (Problems.IsUniqueViolation(ex))
        {
            return Problems.Conflict(ConflictCodes.PhoneNumberTaken, "A phone number or WhatsApp sender of this business already belongs to another business.");
        }
        return TypedResults.Created($"/api/businesses/{business.Id}", BusinessResponse.From(business));
    }

    public static async Task<Results<Ok<BusinessResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, BusinessRequest request, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var business = await FindAsync(db, id, cancellationToken, tracking: true);
        if (business is null)
        {
            return Problems.NotFound("Business", id);
        }
        var validation = Apply(request, business);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        if (await NumbersTakenAsync(db, business, cancellationToken) is { } conflict)
        {
            return conflict;
        }
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (Problems.IsUniqueViolation(ex))
        {
            return Problems.Conflict(ConflictCodes.PhoneNumberTaken, "A phone number or WhatsApp sender of this business already belongs to another business.");
        }
        return TypedResults.Ok(BusinessResponse.From(business));
    }

    /// <summary>
    /// A business with no history is deleted; one with customers, calls or messages is
    /// soft-deleted (hidden, inactive, its numbers released) so no row is orphaned.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var business = await FindAsync(db, id, cancellationToken, tracking: true);
        if (business is null)
        {
            return Problems.NotFound("Business", id);
        }
        var hasHistory = await db.Customers.AnyAsync(c => c.BusinessId == id, cancellationToken)
            || await db.Calls.AnyAsync(c => c.BusinessId == id, cancellationToken)
            || await db.Messages.AnyAsync(m => m.BusinessId == id, cancellationToken);
        if (hasHistory)
        {
            business.DeletedAt = db.Clock.GetUtcNow();
            business.Active = false;
            business.PhoneNumbers.Clear();
        }
        else
        {
            db.Businesses.Remove(business);
        }
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static Task<Business?> FindAsync(AgentLocatorDbContext db, Guid id, CancellationToken cancellationToken, bool tracking = false)
    {
        var query = db.Businesses.Include(b => b.PhoneNumbers).Where(b => b.Id == id && b.DeletedAt == null);
        return (tracking ? query : query.AsNoTracking()).SingleOrDefaultAsync(cancellationToken);
    }

    private static Validation Apply(BusinessRequest request, Business business)
    {
        var validation = new Validation();
        var name = validation.RequiredText("name", request.Name, 200);
        var numbers = new List<string>();
        var requested = request.PhoneNumbers ?? [];
        if (requested.Count > 20)
        {
            validation.Add("phoneNumbers", ValidationCodes.TooMany, "A business can own at most 20 phone numbers.");
        }
        for (var i = 0; i < requested.Count && i < 20; i++)
        {
            if (validation.OptionalPhone($"phoneNumbers[{i}]", requested[i]) is { } e164 && !numbers.Contains(e164))
            {
                numbers.Add(e164);
            }
            else if (string.IsNullOrWhiteSpace(requested[i]))
            {
                validation.Add($"phoneNumbers[{i}]", ValidationCodes.Required, "A phone number cannot be empty.");
            }
        }
        var whatsApp = validation.OptionalPhone("whatsAppNumber", request.WhatsAppNumber);
        var notify = validation.OptionalPhone("notificationPhone", request.NotificationPhone);
        var timeZone = request.TimeZone?.Trim() ?? "Asia/Jerusalem";
        if (timeZone.Length > 64 || !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
        {
            validation.Add("timeZone", ValidationCodes.TimeZoneUnknown, $"'{(timeZone.Length > 64 ? timeZone[..64] : timeZone)}' is not a known IANA time zone such as Asia/Jerusalem.");
        }
        var greeting = validation.OptionalText("greetingText", request.GreetingText, 1000);
        var autoReply = validation.OptionalText("whatsAppAutoReply", request.WhatsAppAutoReply, 1000);
        var maxRecording = request.MaxRecordingSeconds ?? 120;
        if (maxRecording is < 5 or > 3600)
        {
            validation.Add("maxRecordingSeconds", ValidationCodes.OutOfRange, "maxRecordingSeconds must be between 5 and 3600.");
        }
        var instructions = validation.OptionalText("assistantInstructions", request.AssistantInstructions, MaxInstructionsLength);
        var voice = request.AssistantVoice?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(voice))
        {
            voice = null;
        }
        else if (!AssistantVoices.Contains(voice))
        {
            validation.Add("assistantVoice", ValidationCodes.UnknownValue, $"assistantVoice must be one of {string.Join(", ", AssistantVoices)}.");
        }
        var fallback = string.IsNullOrWhiteSpace(request.AiFallback) ? AiFallbackModes.Intake : request.AiFallback.Trim().ToLowerInvariant();
        if (!AiFallbackModes.All.Contains(fallback))
        {
            validation.Add("aiFallback", ValidationCodes.UnknownValue, $"aiFallback must be one of {string.Join(", ", AiFallbackModes.All)}.");
        }
        if (!validation.IsValid)
        {
            return validation;
        }
        business.Name = name!;
        business.AssistantInstructions = instructions;
        business.AssistantVoice = voice;
        business.AiEnabled = request.AiEnabled ?? true;
        business.AiFallback = fallback;
        business.WhatsAppNumber = whatsApp;
        business.NotificationPhone = notify;
        business.TimeZone = timeZone;
        business.Active = request.Active ?? true;
        business.GreetingText = greeting;
        business.WhatsAppAutoReply = autoReply;
        business.MaxRecordingSeconds = maxRecording;
        business.PhoneNumbers.RemoveAll(p => !numbers.Contains(p.Number));
        foreach (var number in numbers.Where(n => business.PhoneNumbers.All(p => p.Number != n)))
        {
            business.PhoneNumbers.Add(new BusinessPhoneNumber { Number = number, BusinessId = business.Id });
        }
        return validation;
    }

    private static async Task<ProblemHttpResult?> NumbersTakenAsync(AgentLocatorDbContext db, Business business, CancellationToken cancellationToken)
    {
        var numbers = business.PhoneNumbers.Select(p => p.Number).ToList();
        var taken = await db.BusinessPhoneNumbers.AsNoTracking()
            .Where(p => numbers.Contains(p.Number) && p.BusinessId != business.Id)
            .Select(p => p.Number)
            .FirstOrDefaultAsync(cancellationToken);
        if (taken is not null)
        {
            return Problems.Conflict(ConflictCodes.PhoneNumberTaken, $"The phone number {taken} already belongs to another business.");
        }
        if (business.WhatsAppNumber is { } sender
            && await db.Businesses.AnyAsync(b => b.WhatsAppNumber == sender && b.Id != business.Id && b.DeletedAt == null, cancellationToken))
        {
            return Problems.Conflict(ConflictCodes.WhatsAppSenderTaken, $"The WhatsApp sender {sender} already belongs to another business.");
        }
        return null;
    }
}
