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
        var otlp = OtlpSettings.From(builder.Configuration);
        var exportOtlp = otlp is not null;
        var telemetry = new ServiceTelemetry(buildInfo.Service, buildInfo.Commit);
        builder.Services.AddSingleton(telemetry);

        // OTEL_SERVICE_NAME already named the service; OTEL_RESOURCE_ATTRIBUTES (from any configuration
        // source, not only the process environment) is applied last so the AppHost's values win.
        var resourceAttributes = OtlpSettings.ResourceAttributes(builder.Configuration["OTEL_RESOURCE_ATTRIBUTES"]);
        void ConfigureResource(ResourceBuilder resource) => resource
            .AddService(serviceName: buildInfo.Service, serviceVersion: buildInfo.Commit, serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId)
            .AddAttributes([new("deployment.environment", buildInfo.Environment), new("deploy.id", buildInfo.DeployId)])
            .AddAttributes(resourceAttributes);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            var resource = ResourceBuilder.CreateEmpty();
            ConfigureResource(resource);
            logging.SetResourceBuilder(resource);
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
            if (exportOtlp)
            {
                logging.AddOtlpExporter(o => otlp!.Apply(o, "logs"));
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
                tracing.AddOtlpExporter(o => otlp!.Apply(o, "traces"));
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
                metrics.AddOtlpExporter((o, reader) =>
                {
                    otlp!.Apply(o, "metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = otlp.MetricInterval;
                });
            }
            return metrics.Build();
        });
        // Resolving the providers at start-up starts them; the container disposes (and flushes) them at shutdown.
        builder.Services.AddHostedService<TelemetryProviderStarter>();
        return builder;
    }

    /// <summary>
    /// Server spans with the OpenTelemetry HTTP semantic conventions (the instrumentation package
    /// that would add them does not restore here): method, path, route, status, and a
    /// <c>GET /api/customers/{id}</c> display name. Health probes are not traced at all: their
    /// activity is marked as not recorded, so no exporter sees it.
    /// </summary>
    public static async Task TraceRequestAsync(HttpContext context, RequestDelegate next)
    {
        var activity = Activity.Current;
        if (activity is null)
        {
            await next(context);
            return;
        }
        if (IsProbePath(context.Request.Path))
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            activity.IsAllDataRequested = false;
            await next(context);
            return;
        }
        var request = context.Request;
        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        activity.SetTag("server.address", request.Host.Host);
        activity.SetTag("network.protocol.version", request.Protocol);
        try
        {
            await next(context);
        }
        finally
        {
            var route = (context.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText;
            if (route is not null)
            {
                activity.SetTag("http.route", route);
                activity.DisplayName = $"{request.Method} {route}";
            }
            activity.SetTag("http.response.status_code", context.Response.StatusCode);
            if (context.Response.StatusCode >= 500)
            {
                activity.SetStatus(ActivityStatusCode.Error);
            }
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
