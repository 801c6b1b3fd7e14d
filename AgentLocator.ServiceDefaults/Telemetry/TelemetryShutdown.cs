using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AgentLocator.ServiceDefaults.Telemetry;

/// <summary>
/// Flushes traces, metrics and logs side by side once the host has stopped, all within one export timeout. Left to
/// dispose, the SDK shuts the three down one after another, each waiting out its export timeout (and Aspire's in-memory
/// retries) when the collector has gone, which it has when the AppHost stops: its dashboard is the collector and stops
/// first. That held a stopping MediaWorker 3 s on a quiet machine and over 5 s on a loaded one. A provider shut down here
/// is not shut down again at dispose; an export still in flight is left to its background thread.
/// </summary>
internal sealed partial class TelemetryShutdown(IServiceProvider services, ILogger<TelemetryShutdown> logger, int timeoutMilliseconds)
    : IHostedLifecycleService
{
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var tracer = services.GetService<TracerProvider>();
        var meter = services.GetService<MeterProvider>();
        var logs = services.GetService<LoggerProvider>();
        Task<bool>[] shutdowns =
        [
            Task.Run(() => tracer?.Shutdown(timeoutMilliseconds) ?? true, CancellationToken.None),
            Task.Run(() => meter?.Shutdown(timeoutMilliseconds) ?? true, CancellationToken.None),
            Task.Run(() => logs?.Shutdown(timeoutMilliseconds) ?? true, CancellationToken.None),
        ];
        try
        {
            // The SDK honours its timeout; the margin only guards against a provider that does not.
            var flushed = await Task.WhenAll(shutdowns).WaitAsync(TimeSpan.FromMilliseconds(timeoutMilliseconds + 500), CancellationToken.None);
            if (flushed.Contains(false))
            {
                LogUnflushed(logger, clock.ElapsedMilliseconds, string.Join(",", new[] { "traces", "metrics", "logs" }.Where((_, i) => !flushed[i])));
            }
        }
        catch (TimeoutException)
        {
            LogUnflushed(logger, clock.ElapsedMilliseconds, "a provider ignored its timeout");
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1150, Level = LogLevel.Warning,
        Message = "TELEMETRY_UNFLUSHED telemetry not all exported at stop after {ElapsedMs} ms ({Which}); the collector is gone or slow")]
    private static partial void LogUnflushed(ILogger logger, long elapsedMs, string which);
}
