using System.ComponentModel.DataAnnotations;

namespace AgentLocator.ServiceDefaults.Http;

/// <summary>
/// Retry and timeout settings for every outgoing HttpClient, bound from <c>HttpClient:Resilience</c>
/// (e.g. <c>HttpClient__Resilience__MaxRetryAttempts=5</c>).
/// </summary>
public sealed class HttpResilienceOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "HttpClient:Resilience";

    /// <summary>The whole call, retries and waits included, must finish within this time.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>One attempt (up to the response headers) must finish within this time, or it is retried.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many times a failed attempt is retried (0 disables retries).</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>The first backoff delay; later ones grow exponentially, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest backoff delay.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest <c>Retry-After</c> honoured; a server asking to wait longer gets its response
    /// (429/503) handed back to the caller, which can reschedule the work instead of blocking.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(20);

    internal HttpResilienceOptions Clone() => (HttpResilienceOptions)MemberwiseClone();
}
