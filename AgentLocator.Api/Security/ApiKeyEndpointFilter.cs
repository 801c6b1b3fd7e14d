namespace AgentLocator.Api.Security;

/// <summary>401 unless <c>X-Api-Key</c> is one of <c>Crm:ApiKeys</c>. The key is never logged.</summary>
public sealed class ApiKeyEndpointFilter(ApiKeyValidator validator, IHostEnvironment environment) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        // With no keys configured, Development stays open for a newcomer; anywhere else start-up already failed.
        if (!validator.HasKeys && environment.IsDevelopment())
        {
            return await next(context);
        }
        var provided = context.HttpContext.Request.Headers[ApiKeyValidator.HeaderName].ToString();
        if (!validator.IsValid(provided))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Missing or invalid API key",
                detail: $"Send a key configured under Crm:ApiKeys in the {ApiKeyValidator.HeaderName} header.");
        }
        return await next(context);
    }
}
