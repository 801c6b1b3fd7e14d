using System.Net;

namespace AgentLocator.Twilio.Rest;

/// <summary>
/// Twilio refused a REST request: the HTTP status plus Twilio's error code and documentation link, e.g. 20404
/// (not found), 20429 (too many requests), 21211 (invalid To number), 63016 (WhatsApp message outside the
/// 24-hour window). Made from the SDK's <c>ApiException</c>, with the status kept even when Twilio's (or a
/// proxy's) error body was not JSON.
/// </summary>
public sealed class TwilioApiException : Exception
{
    /// <summary>Creates the exception from its parts.</summary>
    public TwilioApiException(HttpStatusCode statusCode, int? code, string message, string? moreInfo = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Code = code;
        MoreInfo = moreInfo;
    }

    /// <summary>The HTTP status Twilio answered with.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>Twilio's error code (<c>code</c>), when the body carried one.</summary>
    public int? Code { get; }

    /// <summary>The documentation link (<c>more_info</c>).</summary>
    public string? MoreInfo { get; }

    /// <summary>Whether Twilio did not process the request because of rate limiting (HTTP 429 / 20429), so it is safe to send again later.</summary>
    public bool IsRateLimited => StatusCode == HttpStatusCode.TooManyRequests || Code == 20429;

    /// <inheritdoc />
    public override string ToString() =>
        $"{GetType().FullName}: HTTP {(int)StatusCode}, code {Code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}: {Message} ({MoreInfo})";
}
