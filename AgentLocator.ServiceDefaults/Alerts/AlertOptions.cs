using System.ComponentModel.DataAnnotations;

namespace AgentLocator.ServiceDefaults.Alerts;

/// <summary>Where and how often operators are alerted, bound from <c>Alerts</c> (<c>Alerts__WebhookUrl</c>, …).</summary>
public sealed class AlertOptions
{
    public const string Section = "Alerts";

    /// <summary>A Slack-compatible incoming webhook (POST <c>{"text": …}</c>); without one, alerts are only counted and logged.</summary>
    [Url]
    public string? WebhookUrl { get; set; }

    /// <summary>At most one alert of a kind within this interval.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The window counted occurrences (webhook errors, signature rejections) are judged over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many occurrences within <see cref="Window"/> make an alert.</summary>
    [Range(1, 100_000)]
    public int Threshold { get; set; } = 5;

    /// <summary>How long one delivery may take before it is given up.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
