using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.AppHost;

/// <summary>
/// With <c>AppHost:StartupTimeline=true</c>, logs each resource's state and health change (Waiting, Starting, Running,
/// Healthy, Finished) with the time since the AppHost process started, until every service, server and database is
/// healthy; <c>scripts/startup-timeline.sh</c> runs it. The summary reports the total either way.
/// </summary>
internal sealed partial class StartupTimeline(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    AppHostSettings settings,
    ILogger<StartupTimeline> logger)
{
    /// <summary>When the AppHost process started: what the timeline's and the summary's times count from.</summary>
    public static DateTime ProcessStarted { get; } = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public static TimeSpan SinceProcessStarted => DateTime.UtcNow - ProcessStarted;

    /// <summary>
    /// Watches from <see cref="BeforeStartEvent"/>: hosted services start one after another, after Aspire's own, so a
    /// hosted service would see the first changes only once the orchestrator has launched everything.
    /// </summary>
    public static IDistributedApplicationBuilder AddStartupTimeline(IDistributedApplicationBuilder builder)
    {
        builder.Services.AddSingleton<StartupTimeline>();
        builder.Eventing.Subscribe<BeforeStartEvent>((@event, cancellationToken) =>
        {
            var timeline = @event.Services.GetRequiredService<StartupTimeline>();
            var stopping = @event.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            _ = Task.Run(() => timeline.WatchAsync(stopping), stopping);
            return Task.CompletedTask;
        });
        return builder;
    }

    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        if (!settings.StartupTimeline)
        {
            return;
        }

        var seen = new Dictionary<string, string>();
        var waitingFor = model.Resources.Where(StartupSummary.IsListed).Select(resource => resource.Name).ToHashSet();
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                var state = change.Snapshot.State?.Text is { Length: > 0 } text ? text : "-";
                var health = change.Snapshot.HealthStatus?.ToString() ?? "-";
                if (seen.TryGetValue(change.ResourceId, out var previous) && previous == $"{state} {health}")
                {
                    continue;
                }

                seen[change.ResourceId] = $"{state} {health}";
                LogChange(logger, SinceProcessStarted.TotalSeconds, change.Resource.Name, state, health);
                if (change.Snapshot.HealthStatus == HealthStatus.Healthy && state == KnownResourceStates.Running
                    && waitingFor.Remove(change.Resource.Name) && waitingFor.Count == 0)
                {
                    LogAllHealthy(logger, SinceProcessStarted.TotalSeconds);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 2, EventName = "STARTUP_STEP", Level = LogLevel.Information,
        Message = "+{Seconds,7:0.000}s {Resource,-16} {State,-12} health {Health}")]
    private static partial void LogChange(ILogger logger, double seconds, string resource, string state, string health);

    [LoggerMessage(EventId = 3, EventName = "STARTUP_HEALTHY", Level = LogLevel.Information,
        Message = "+{Seconds,7:0.000}s every service, server and database healthy")]
    private static partial void LogAllHealthy(ILogger logger, double seconds);
}
