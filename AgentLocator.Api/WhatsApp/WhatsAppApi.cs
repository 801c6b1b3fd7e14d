using System.Text.Json;
using AgentLocator.Api.Apis;
using AgentLocator.Api.Contracts;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Messages;
using AgentLocator.Data.Model;
using AgentLocator.Twilio.Rest;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Api.WhatsApp;

/// <summary>WhatsApp in the CRM: send a message (queued durably, sent by the MediaWorker) and read a customer's conversation.</summary>
public static class WhatsAppApi
{
    /// <summary>WhatsApp accepts free-form messages for 24 hours after the customer's last message.</summary>
    public static readonly TimeSpan CustomerServiceWindow = TimeSpan.FromHours(24);

    public const int MaxContentVariablesLength = 4000;

    public static RouteGroupBuilder MapWhatsAppApi(this RouteGroupBuilder api)
    {
        api.MapPost("/whatsapp/send", SendAsync).WithTags("WhatsApp").WithName("SendWhatsApp")
            .WithDescription("Queue a WhatsApp message: free-form within 24 hours of the customer's last message, else an approved template (contentSid).");
        api.MapGet("/customers/{id:guid}/messages", ConversationAsync).WithTags("WhatsApp").WithName("GetCustomerMessages")
            .WithDescription("The customer's WhatsApp conversation, both directions, oldest first, with cursor pagination.");
        return api;
    }

    public static async Task<Results<Accepted<SendWhatsAppAccepted>, ValidationProblem, ProblemHttpResult>> SendAsync(
        SendWhatsAppRequest request, AgentLocatorDbContext db, JobSignal jobs, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (request.BusinessId is null || request.BusinessId == Guid.Empty)
        {
            validation.Add("businessId", ValidationCodes.Required, "businessId is required.");
        }
        if (string.IsNullOrWhiteSpace(request.To))
        {
            validation.Add("to", ValidationCodes.Required, "to is required: the customer's WhatsApp number in E.164, such as +972501234567.");
        }
        var to = validation.OptionalPhone("to", request.To);
        var contentSid = request.ContentSid?.Trim();
        string? body = null;
        string? variables = null;
        if (string.IsNullOrEmpty(contentSid))
        {
            contentSid = null;
            body = validation.RequiredText("body", request.Body, TwilioMessage.MaxBodyLength);
            if (request.ContentVariables is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
            {
                validation.Add("contentVariables", ValidationCodes.Invalid, "contentVariables go with a template: give contentSid too, or leave them out.");
            }
        }
        else
        {
            if (contentSid.Length != 34 || !contentSid.StartsWith("HX", StringComparison.Ordinal) || !contentSid[2..].All(char.IsAsciiHexDigit))
            {
                validation.Add("contentSid", ValidationCodes.Invalid, "contentSid must be an approved template's SID: HX followed by 32 hex digits.");
            }
            if (!string.IsNullOrEmpty(request.Body))
            {
                validation.Add("body", ValidationCodes.Invalid, "A template message has no body: give either body or contentSid.");
            }
            variables = ContentVariables(validation, request.ContentVariables);
        }
        var mediaUrl = request.MediaUrl?.Trim();
        if (!string.IsNullOrEmpty(mediaUrl))
        {
            if (contentSid is not null)
            {
                validation.Add("mediaUrl", ValidationCodes.Invalid, "A template message carries its own media: leave mediaUrl out.");
            }
            else if (mediaUrl.Length > 2000 || !Uri.TryCreate(mediaUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            {
                validation.Add("mediaUrl", ValidationCodes.Invalid, "mediaUrl must be an absolute http(s) URL Twilio can fetch.");
            }
        }
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }

        var businessId = request.BusinessId!.Value;
        var business = await db.Businesses.AsNoTracking()
            .Where(b => b.Id == businessId && b.DeletedAt == null)
            .Select(b => new { b.WhatsAppNumber })
            .SingleOrDefaultAsync(cancellationToken);
        if (business is null)
        {
            return Problems.NotFound("Business", businessId);
        }
        if (string.IsNullOrEmpty(business.WhatsAppNumber))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "The business has no WhatsApp sender",
                detail: "Set the business's whatsAppNumber (PUT /api/businesses/{id}) before sending WhatsApp messages.");
        }

        var customer = await db.Customers.AsNoTracking()
            .Where(c => c.BusinessId == businessId && c.Phone == to)
            .Select(c => new { c.Id, c.LastInboundMessageAt })
            .SingleOrDefaultAsync(cancellationToken);
        var now = db.Clock.GetUtcNow();
        if (contentSid is null && (customer?.LastInboundMessageAt is not { } last || now - last > CustomerServiceWindow))
        {
            var problem = TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "Outside the WhatsApp 24-hour window: a template is needed",
                detail: (customer?.LastInboundMessageAt is { } at
                    ? $"The customer last wrote at {at:O}, more than 24 hours ago. "
                    : "The customer has never written to this business on WhatsApp. ")
                    + "WhatsApp only delivers free-form messages within 24 hours of the customer's last message; send an approved template instead (contentSid and contentVariables).",
                extensions: new Dictionary<string, object?> { ["lastInboundMessageAt"] = customer?.LastInboundMessageAt, ["templateRequired"] = true });
            return problem;
        }

        var strategy = db.Database.CreateExecutionStrategy();
        var message = await strategy.ExecuteAsync(async ct =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var customerId = customer?.Id ?? await UpsertCustomerAsync(db, businessId, to!, now, ct);
            var message = new Message
            {
                BusinessId = businessId,
                CustomerId = customerId,
                Direction = MessageDirections.Outbound,
                From = WhatsAppAddress.For(business.WhatsAppNumber),
                To = WhatsAppAddress.For(to!),
                Body = body,
                MediaUrls = string.IsNullOrEmpty(mediaUrl) ? [] : [mediaUrl],
                ContentSid = contentSid,
                ContentVariables = variables,
                Status = MessageStatuses.Pending,
                Purpose = MessagePurposes.Manual,
            };
            db.Messages.Add(message);
            // The job is committed with the message: once we answer 202 the send survives any restart.
            JobQueue.Enqueue(db, WhatsAppSendJob.Type, new WhatsAppSendJob.Payload(message.Id), WhatsAppSendJob.DedupKey(message.Id));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
            return message;
        }, cancellationToken);
        jobs.Notify();
        return TypedResults.Accepted($"/api/customers/{message.CustomerId}/messages",
            new SendWhatsAppAccepted(message.Id, businessId, message.CustomerId, to!, message.Status));
    }

    public static async Task<Results<Ok<Page<MessageResponse>>, ValidationProblem, ProblemHttpResult>> ConversationAsync(
        Guid id, Guid? businessId, int? limit, string? cursor, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        Cursor.ValidatePage(validation, limit, cursor, out var take, out var after);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        if (!await db.Customers.AnyAsync(c => c.Id == id && (businessId == null || c.BusinessId == businessId), cancellationToken))
        {
            return Problems.NotFound("Customer", id);
        }
        var query = db.Messages.AsNoTracking().Where(m => m.CustomerId == id);
        if (after is { } afterId)
        {
            query = query.Where(m => m.Id.CompareTo(afterId) > 0);
        }
        // Version-7 ids are creation-ordered, so the keyset cursor pages the conversation in order.
        var items = await query.OrderBy(m => m.Id).Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(Cursor.ToPage(items, take, MessageResponse.FromMessage, m => m.Id));
    }

    private static string? ContentVariables(Validation validation, JsonElement? value)
    {
        if (value is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }
        if (element.ValueKind == JsonValueKind.String)
        {
            // Twilio's own form: the variables as a JSON string.
            try
            {
                using var parsed = JsonDocument.Parse(element.GetString() ?? "");
                return ContentVariables(validation, parsed.RootElement.Clone());
            }
            catch (JsonException)
            {
                validation.Add("contentVariables", ValidationCodes.Invalid, "contentVariables must be a JSON object such as {\"1\": \"Rachel\"}.");
                return null;
            }
        }
        if (element.ValueKind != JsonValueKind.Object)
        {
            validation.Add("contentVariables", ValidationCodes.Invalid, "contentVariables must be a JSON object such as {\"1\": \"Rachel\"}.");
            return null;
        }
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null)
            {
                validation.Add("contentVariables", ValidationCodes.Invalid, $"contentVariables.{property.Name} must be a string or a number.");
                return null;
            }
            variables[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
        }
        var json = ContentVariablesJson.Serialize(variables);
        if (json.Length > MaxContentVariablesLength)
        {
            validation.Add("contentVariables", ValidationCodes.TooLong, $"contentVariables must be at most {MaxContentVariablesLength} characters of JSON.");
            return null;
        }
        return json;
    }

    private static async Task<Guid> UpsertCustomerAsync(AgentLocatorDbContext db, Guid businessId, string phone, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ids = await db.Database.SqlQuery<Guid>($"""
            INSERT INTO customers (id, business_id, phone, source, first_contact_at, last_contact_at, created_at, updated_at)
            VALUES ({Guid.CreateVersion7()}, {businessId}, {phone}, {CustomerSources.Manual}, {now}, {now}, {now}, {now})
            ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL
            DO UPDATE SET updated_at = excluded.updated_at
            RETURNING id AS "Value"
            """).ToListAsync(cancellationToken);
        return ids[0];
    }
}
