using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.ServiceDefaults.Hosting;

/// <summary>
/// When the AppHost hands a service its own pid (<c>AGENTLOCATOR_PARENT_PID</c>), the service
/// exits as soon as that process is gone, so a killed AppHost never leaves a stale service
/// answering calls with old code.
/// </summary>
internal sealed partial class ParentProcessWatcher(
    int parentPid,
    IHostApplicationLifetime lifetime,
    ILogger<ParentProcessWatcher> logger) : BackgroundService
{
    public const string VariableName = "AGENTLOCATOR_PARENT_PID";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            if (IsAlive(parentPid))
            {
                continue;
            }
            LogParentGone(logger, parentPid);
            lifetime.StopApplication();
            // If graceful shutdown hangs, do not linger.
            _ = Task.Delay(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(_ => Environment.Exit(3), TaskScheduler.Default);
            return;
        }
    }

    internal static bool IsAlive(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            // A zombie parent counts as gone.
            var stat = $"/proc/{pid}/stat";
            try
            {
                var text = File.ReadAllText(stat);
                var close = text.LastIndexOf(')');
                return close > 0 && close + 2 < text.Length && text[close + 2] != 'Z';
            }
            catch (IOException)
            {
                return false;
            }
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 1002, EventName = "PARENT_GONE", Level = LogLevel.Warning,
        Message = "PARENT_GONE the AppHost process {ParentPid} is gone; shutting down")]
    private static partial void LogParentGone(ILogger logger, int parentPid);
}
