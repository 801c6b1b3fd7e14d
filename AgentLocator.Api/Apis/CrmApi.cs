using System.Threading.RateLimiting;
using AgentLocator.Api.Security;
using AgentLocator.Api.WhatsApp;

namespace AgentLocator.Api.Apis;

/// <summary>The business's CRM under <c>/api</c>: API key, per-IP rate limit and the feature groups.</summary>
public static class CrmApi
{
    public const string RateLimitPolicy = "crm";

    public static IEndpointRouteBuilder MapCrmApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api")
            .AddEndpointFilter<ApiKeyEndpointFilter>()
            .RequireRateLimiting(RateLimitPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        api.MapBusinessesApi();
        api.MapCustomersApi();
        api.MapCallsApi();
        api.MapWhatsAppApi();
        return endpoints;
    }

    public static IServiceCollection AddCrmApi(this IServiceCollection services)
    {
        services.AddOptions<CrmOptions>().BindConfiguration(CrmOptions.Section)
            .Validate(o => o.RequestsPerMinute > 0, "Crm:RequestsPerMinute must be positive.");
        services.AddSingleton<ApiKeyValidator>();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(RateLimitPolicy, context =>
            {
                var perMinute = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<CrmOptions>>().Value.RequestsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
        });
        return services;
    }
}
