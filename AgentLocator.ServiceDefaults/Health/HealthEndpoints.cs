using System.Text.Json;
using System.Text.Json.Serialization;
using AgentLocator.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentLocator.ServiceDefaults.Health;

/// <summary>
/// <c>/health</c> (liveness, no dependency calls), <c>/readyz</c> (every check tagged
/// <see cref="ReadyTag"/>, 503 naming what fails) and <c>/version</c> (which code is live).
/// Mapped in every environment: deploy checks run them in production.
/// </summary>
public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("").WithTags("Operations").AddEndpointFilter(async (context, next) =>
        {
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            return await next(context);
        });

        group.MapGet("/health", () => TypedResults.Ok(new LivenessResponse(true)))
            .WithName("Health").WithSummary("Liveness: the process is up.");

        group.MapGet("/version", (BuildInfo build, TimeProvider time) => TypedResults.Ok(new VersionResponse(
                build.App, build.Service, build.Commit, build.BuildTime, build.DeployId, time.GetUtcNow().ToUnixTimeSeconds())))
            .WithName("Version").WithSummary("Which commit and deploy is answering.");

        group.MapGet("/readyz", async (HealthCheckService health, BuildInfo build, HttpContext http, CancellationToken cancellationToken) =>
            {
                var report = await health.CheckHealthAsync(r => r.Tags.Contains(ReadyTag), cancellationToken);
                var response = ReadinessResponse.From(report, build);
                var status = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
                return Results.Json(response, Json, statusCode: status);
            })
            .WithName("Ready").WithSummary("Readiness: every dependency check, 503 naming the failing ones.");
        return endpoints;
    }

    public sealed record LivenessResponse([property: JsonPropertyName("ok")] bool Ok);

    public sealed record VersionResponse(
        [property: JsonPropertyName("app")] string App,
        [property: JsonPropertyName("service")] string Service,
        [property: JsonPropertyName("commit")] string Commit,
        [property: JsonPropertyName("build_time")] string BuildTime,
        [property: JsonPropertyName("deploy_id")] string DeployId,
        [property: JsonPropertyName("ts")] long Ts);

    public sealed record CheckResult(string Name, string Status, double DurationMs, string? Error);

    public sealed record ReadinessResponse(bool Ok, string Status, IReadOnlyList<string> Failing, IReadOnlyList<CheckResult> Checks, BuildInfo Build)
    {
        public static ReadinessResponse From(HealthReport report, BuildInfo build)
        {
            var checks = report.Entries
                .Select(e => new CheckResult(e.Key, e.Value.Status.ToString(), Math.Round(e.Value.Duration.TotalMilliseconds, 1),
                    e.Value.Status == HealthStatus.Healthy ? null : e.Value.Description ?? e.Value.Exception?.Message ?? "unhealthy"))
                .OrderBy(c => c.Name, StringComparer.Ordinal)
                .ToList();
            var failing = checks.Where(c => c.Status == nameof(HealthStatus.Unhealthy)).Select(c => c.Name).ToList();
            return new ReadinessResponse(report.Status != HealthStatus.Unhealthy, report.Status.ToString(), failing, checks, build);
        }
    }
}
