using System.Diagnostics;
using AgentLocator.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentLocator.ServiceDefaults.Telemetry;

/// <summary>
/// OpenTelemetry with the core SDK only (OpenTelemetry.Extensions.Hosting and the
/// instrumentation packages do not restore here). ASP.NET Core, HttpClient and Npgsql emit
/// through their own ActivitySources and Meters, so subscribing to those names is enough.
/// </summary>
public static class TelemetryExtensions
{
    public static readonly string[] BuiltInActivitySources = ["Microsoft.AspNetCore", "System.Net.Http", "Npgsql"];

    public static readonly string[] BuiltInMeters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting",
        "System.Net.Http", "System.Net.NameResolution", "System.Runtime", "Npgsql",
    ];

    /// <summary>Paths that are probed constantly and would drown real traces.</summary>
    public static bool IsProbePath(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/version");

    public static IHostApplicationBuilder ConfigureOpenTelemetry(this IHostApplicationBuilder builder, BuildInfo buildInfo)
    {
        var exportOtlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = new ServiceTelemetry(buildInfo.Service, buildInfo.Commit);
        builder.Services.AddSingleton(telemetry);

        // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by the SDK's environment detector;
        // the defaults below apply only where those are not set.
        void ConfigureResource(ResourceBuilder resource) => resource
            .AddService(serviceName: buildInfo.Service, serviceVersion: buildInfo.Commit, serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId)
            .AddAttributes([new("deployment.environment", buildInfo.Environment), new("deploy.id", buildInfo.DeployId)])
            .AddEnvironmentVariableDetector();

        builder.Logging.AddOpenTelemetry(logging =>
        {
            var resource = ResourceBuilder.CreateEmpty();
            ConfigureResource(resource);
            logging.SetResourceBuilder(resource);
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
            if (exportOtlp)
            {
                logging.AddOtlpExporter();
            }
        });

        builder.Services.AddSingleton(_ =>
        {
            var tracing = Sdk.CreateTracerProviderBuilder()
                .ConfigureResource(ConfigureResource)
                .AddSource(BuiltInActivitySources)
                .AddSource("AgentLocator.*");
            if (exportOtlp)
            {
                tracing.AddOtlpExporter();
            }
            return tracing.Build();
        });
        builder.Services.AddSingleton(_ =>
        {
            var metrics = Sdk.CreateMeterProviderBuilder()
                .ConfigureResource(ConfigureResource)
                .AddMeter(BuiltInMeters)
                .AddMeter("AgentLocator.*");
            if (exportOtlp)
            {
                metrics.AddOtlpExporter();
            }
            return metrics.Build();
        });
        // Resolving the providers at start-up starts them; the container disposes (and flushes) them at shutdown.
        builder.Services.AddHostedService<TelemetryProviderStarter>();
        return builder;
    }

    /// <summary>Health probes are not traced: their activity is marked as not recorded, so no exporter sees it.</summary>
    public static void SuppressProbeTraces(HttpContext context)
    {
        if (IsProbePath(context.Request.Path) && Activity.Current is { } activity)
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            activity.IsAllDataRequested = false;
        }
    }

    private sealed class TelemetryProviderStarter(TracerProvider tracerProvider, MeterProvider meterProvider) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(tracerProvider);
            GC.KeepAlive(meterProvider);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            tracerProvider.ForceFlush(2000);
            meterProvider.ForceFlush(2000);
            return Task.CompletedTask;
        }
    }
}
