using AgentLocator.Api.Contracts;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Data.Phones;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Api.Apis;

public static class CustomersApi
{
    public static RouteGroupBuilder MapCustomersApi(this RouteGroupBuilder api)
    {
        var underBusiness = api.MapGroup("/businesses/{businessId:guid}/customers").WithTags("Customers");
        underBusiness.MapGet("/", SearchAsync).WithName("SearchCustomers")
            .WithDescription("Search a business's customers by exact phone (any common format) and/or a name or phone fragment, with cursor pagination.");
        underBusiness.MapPost("/", CreateAsync).WithName("CreateCustomer");

        var customers = api.MapGroup("/customers").WithTags("Customers");
        customers.MapGet("/{id:guid}", GetAsync).WithName("GetCustomer");
        customers.MapPut("/{id:guid}", UpdateAsync).WithName("UpdateCustomer");
        customers.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteCustomer");
        return api;
    }

    public static async Task<Results<Ok<Page<CustomerResponse>>, ValidationProblem, ProblemHttpResult>> SearchAsync(
        Guid businessId, string? phone, string? q, int? limit, string? cursor, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        Cursor.ValidatePage(validation, limit, cursor, out var take, out var after);
        var normalizedPhone = validation.OptionalPhone("phone", phone);
        var text = validation.OptionalText("q", q, 100);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        if (!await BusinessExistsAsync(db, businessId, cancellationToken))
        {
            return Problems.NotFound("Business", businessId);
        }
        var query = db.Customers.AsNoTracking().Where(c => c.BusinessId == businessId);
        if (normalizedPhone is not null)
        {
            query = query.Where(c => c.Phone == normalizedPhone);
        }
        if (text is not null)
        {
            var pattern = "%" + EscapeLike(text) + "%";
            query = query.Where(c => EF.Functions.ILike(c.Name ?? "", pattern, "\\") || EF.Functions.Like(c.Phone ?? "", pattern, "\\"));
        }
        if (after is { } afterId)
        {
            query = query.Where(c => c.Id.CompareTo(afterId) > 0);
        }
        var items = await query.OrderBy(c => c.Id).Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(Cursor.ToPage(items, take, CustomerResponse.From, c => c.Id));
    }

    public static async Task<Results<Created<CustomerResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        Guid businessId, CustomerRequest request, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        if (!await BusinessExistsAsync(db, businessId, cancellationToken))
        {
            return Problems.NotFound("Business", businessId);
        }
        var now = db.Clock.GetUtcNow();
        var customer = new Customer { BusinessId = businessId, FirstContactAt = now, LastContactAt = now };
        var validation = Apply(request, customer);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        db.Customers.Add(customer);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (Problems.IsUniqueViolation(ex))
        {
            return Problems.Conflict(ConflictCodes.CustomerPhoneTaken, $"This business already has a customer with phone {customer.Phone}.");
        }
        return TypedResults.Created($"/api/customers/{customer.Id}", CustomerResponse.From(customer));
    }

    /// <summary>The customer; with <paramref name="businessId"/>, only if it is that business's (the owners' app scopes every read).</summary>
    public static async Task<Results<Ok<CustomerResponse>, ProblemHttpResult>> GetAsync(
        Guid id, Guid? businessId, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var customer = await db.Customers.AsNoTracking()
            .SingleOrDefaultAsync(c => c.Id == id && (businessId == null || c.BusinessId == businessId), cancellationToken);
        return customer is null ? Problems.NotFound("Customer", id) : TypedResults.Ok(CustomerResponse.From(customer));
    }

    public static async Task<Results<Ok<CustomerResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, Guid? businessId, CustomerRequest request, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var customer = await db.Customers.SingleOrDefaultAsync(c => c.Id == id && (businessId == null || c.BusinessId == businessId), cancellationToken);
        if (customer is null)
        {
            return Problems.NotFound("Customer", id);
        }
        var validation = Apply(request, customer);
        if (!validation.IsValid)
        {
            return validation.ToProblem();
        }
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (Problems.IsUniqueViolation(ex))
        {
            return Problems.Conflict(ConflictCodes.CustomerPhoneTaken, $"This business already has a customer with phone {customer.Phone}.");
        }
        return TypedResults.Ok(CustomerResponse.From(customer));
    }

    /// <summary>Deletes the customer; their calls and messages stay with the business, unlinked.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        var deleted = await db.Customers.Where(c => c.Id == id).ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? Problems.NotFound("Customer", id) : TypedResults.NoContent();
    }

    private static Validation Apply(CustomerRequest request, Customer customer)
    {
        var validation = new Validation();
        var name = validation.OptionalText("name", request.Name, 200);
        var phone = validation.OptionalPhone("phone", request.Phone);
        var notes = validation.OptionalText("notes", request.Notes, 4000);
        var source = request.Source?.Trim().ToLowerInvariant() ?? customer.Source;
        if (!CustomerSources.All.Contains(source))
        {
            validation.Add("source", ValidationCodes.UnknownValue, $"source must be one of: {string.Join(", ", CustomerSources.All)}.");
        }
        if (string.IsNullOrWhiteSpace(request.Name) && string.IsNullOrWhiteSpace(request.Phone))
        {
            validation.Add("name", ValidationCodes.NameOrPhoneRequired, "A customer needs a name or a phone number.");
        }
        if (!validation.IsValid)
        {
            return validation;
        }
        customer.Name = name;
        customer.Phone = phone;
        customer.Notes = notes;
        customer.Source = source;
        return validation;
    }

    private static Task<bool> BusinessExistsAsync(AgentLocatorDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.Businesses.AnyAsync(b => b.Id == id && b.DeletedAt == null, cancellationToken);

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
