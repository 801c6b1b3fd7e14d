using System.ComponentModel.DataAnnotations;

namespace AgentLocator.MediaWorker.Notifications;

/// <summary>WhatsApp sending from the MediaWorker: the <c>WhatsApp</c> section plus the public address Twilio calls back.</summary>
public sealed class NotificationOptions
{
    public const string Section = "WhatsApp";

    /// <summary>
    /// An approved template for lead notifications (<c>HX…</c>). Business notifications usually go out
    /// more than 24 hours after the owner last wrote, when WhatsApp only delivers templates; without
    /// one they are sent free-form and may fail with 63016. Variables: 1 caller, 2 what they left, 3 audio link.
    /// </summary>
    public string? LeadTemplateContentSid { get; set; }

    /// <summary>How long the audio links in a lead notification work.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "90.00:00:00")]
    public TimeSpan MediaLinkLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Bound from the root key <c>PublicBaseUrl</c>: status callbacks and audio links point there.</summary>
    [Required(ErrorMessage = "PublicBaseUrl is required: WhatsApp status callbacks and audio links point to the Api at that address (environment variable PublicBaseUrl).")]
    [Url]
    public string PublicBaseUrl { get; set; } = "";

    public string Url(string pathAndQuery) => PublicBaseUrl.TrimEnd('/') + pathAndQuery;
}
