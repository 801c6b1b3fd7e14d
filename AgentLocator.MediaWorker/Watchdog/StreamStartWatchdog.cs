using AgentLocator.Data.Calls;
using AgentLocator.Twilio.Rest;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Watchdog;

/// <summary>
/// Fires stream-start watchdogs that are overdue: the greeting has played, the grace has passed,
/// and no MediaWorker has seen the stream's <c>start</c>. The live call is redirected through the
/// REST API to <c>/webhook/stream_ended</c>, which answers the voicemail; <c>WATCHDOG_FIRED</c> is
/// logged and recorded on the call. Every replica runs this loop; the atomic claim lets exactly
/// one of them fire each watchdog. Without Redis nothing is ever due.
/// </summary>
public sealed partial class StreamStartWatchdog(
    ICallSessions sessions,
    IServiceScopeFactory scopes,
    IOptions<WatchdogOptions> options,
    IConfiguration configuration,
    TimeProvider clock,
    ILogger<StreamStartWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogLoopFailed(logger, ex);
            }
        }
    }

    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var fired = 0;
        foreach (var callSid in await sessions.DueWatchdogsAsync(now, 50, cancellationToken))
        {
            if (await sessions.ClaimWatchdogAsync(callSid, cancellationToken))
            {
                await FireAsync(callSid, cancellationToken);
                fired++;
            }
        }
        return fired;
    }

    private async Task FireAsync(string callSid, CancellationToken cancellationToken)
    {
        var at = clock.GetUtcNow();
        var voicemail = (configuration["PublicBaseUrl"] ?? "").TrimEnd('/') + "/webhook/stream_ended";
        await using var scope = scopes.CreateAsyncScope();
        try
        {
            await scope.ServiceProvider.GetRequiredService<CallStore>().RecordWatchdogFiredAsync(callSid, at, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The database is down: the redirect matters more than the record; the log keeps it.
            LogRecordFailed(logger, callSid, ex.Message);
        }
        try
        {
            var twilio = scope.ServiceProvider.GetRequiredService<TwilioRestApi>();
            var result = await twilio.RedirectCallAsync(callSid, voicemail, "POST", cancellationToken);
            LogFired(logger, callSid, result.Outcome.ToString());
            await sessions.PublishAsync(new CallEvent(CallEvent.Fallback, callSid, at, new Dictionary<string, string> { ["reason"] = "watchdog" }), cancellationToken);
        }
        catch (Exception ex) when (ex is TwilioApiException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Twilio could not be reached: arm it again shortly, so the caller still reaches voicemail.
            LogRedirectFailed(logger, callSid, ex.Message);
            await sessions.ArmWatchdogAsync(callSid, at + options.Value.RetryDelay, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            // Twilio is not configured (a local run without an account): retrying cannot help.
            LogRedirectImpossible(logger, callSid, ex.Message);
        }
    }

    [LoggerMessage(EventId = 4301, EventName = "WATCHDOG_FIRED", Level = LogLevel.Warning,
        Message = "WATCHDOG_FIRED {CallSid}: the media stream never started; redirected to voicemail ({Outcome})")]
    private static partial void LogFired(ILogger logger, string callSid, string outcome);

    [LoggerMessage(EventId = 4302, EventName = "WATCHDOG_REDIRECT_FAILED", Level = LogLevel.Error,
        Message = "WATCHDOG_REDIRECT_FAILED {CallSid}: {Error}; will retry")]
    private static partial void LogRedirectFailed(ILogger logger, string callSid, string error);

    [LoggerMessage(EventId = 4305, EventName = "WATCHDOG_REDIRECT_IMPOSSIBLE", Level = LogLevel.Error,
        Message = "WATCHDOG_REDIRECT_IMPOSSIBLE {CallSid}: {Error}")]
    private static partial void LogRedirectImpossible(ILogger logger, string callSid, string error);

    [LoggerMessage(EventId = 4303, EventName = "WATCHDOG_RECORD_FAILED", Level = LogLevel.Warning,
        Message = "WATCHDOG_RECORD_FAILED {CallSid}: {Error}")]
    private static partial void LogRecordFailed(ILogger logger, string callSid, string error);

    [LoggerMessage(EventId = 4304, EventName = "WATCHDOG_LOOP_FAILED", Level = LogLevel.Error, Message = "WATCHDOG_LOOP_FAILED")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);
}
