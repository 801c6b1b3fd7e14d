using System.ComponentModel.DataAnnotations;

namespace AgentLocator.MediaWorker.Watchdog;

public sealed class WatchdogOptions
{
    public const string Section = "Watchdog";

    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long to wait before trying again when the redirect could not reach Twilio.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);
}
