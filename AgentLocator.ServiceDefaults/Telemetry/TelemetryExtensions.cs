using AgentLocator.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentLocator.ServiceDefaults.Telemetry;

/// <summary>OpenTelemetry as the Aspire service-defaults template sets it up, plus the build's identity.</summary>
public static class TelemetryExtensions
{
    /// <summary>The OTLP exporter's timeout unless <c>OTEL_EXPORTER_OTLP_TIMEOUT</c> says otherwise: a stopped collector must not hold shutdown for the SDK's 10 s.</summary>
    public const int ExportTimeoutMilliseconds = 1000;

    /// <summary>Paths that are probed constantly and would drown real traces.</summary>
    public static bool IsProbePath(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/alive") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/version");

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, BuildInfo build) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            // The build's identity first; OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (any configuration source) last, so the AppHost's values win.
            .ConfigureResource(resource => resource
                .AddService(build.Service, serviceVersion: build.Commit, serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId)
                .AddAttributes([new("deployment.environment", build.Environment), new("deploy.id", build.DeployId)])
                .AddEnvironmentVariableDetector())
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("AgentLocator.*", "Npgsql", "StackExchange.Redis"))
            .WithTracing(tracing => tracing
                .AddSource("AgentLocator.*", "Npgsql", "StackExchange.Redis")
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !IsProbePath(context.Request.Path))
                .AddHttpClientInstrumentation(http => http.FilterHttpRequestMessage = request =>
                    request.RequestUri is null || !IsProbePath(new PathString(request.RequestUri.AbsolutePath))));

        builder.AddOpenTelemetryExporters();
        return builder;
    }

    private static TBuilder AddOpenTelemetryExporters<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_TIMEOUT"]))
            {
                builder.Configuration.AddInMemoryCollection([new("OTEL_EXPORTER_OTLP_TIMEOUT", ExportTimeoutMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            }

            builder.Services.AddOpenTelemetry().UseOtlpExporter();
            var timeout = int.TryParse(builder.Configuration["OTEL_EXPORTER_OTLP_TIMEOUT"], System.Globalization.CultureInfo.InvariantCulture, out var configured) && configured > 0
                ? configured
                : ExportTimeoutMilliseconds;
            builder.Services.AddHostedService(services => new TelemetryShutdown(services, services.GetRequiredService<ILogger<TelemetryShutdown>>(), timeout));
        }

        return builder;
    }
}
