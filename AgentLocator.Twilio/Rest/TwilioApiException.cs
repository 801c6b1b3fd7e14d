using System.Net;
using System.Text.Json;

namespace AgentLocator.Twilio.Rest;

/// <summary>
/// A Twilio REST error: the HTTP status plus Twilio's error JSON
/// (<c>{"code","message","more_info","status"}</c>), e.g. 20404 (not found), 20429 (too many requests),
/// 21211 (invalid To number), 63016 (WhatsApp message outside the 24-hour window).
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

    /// <summary>Builds the exception from an error response body, tolerating bodies that are not Twilio JSON.</summary>
    public static TwilioApiException FromResponse(HttpStatusCode statusCode, string? body)
    {
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    int? code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var n) ? n : null;
                    var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                    var moreInfo = root.TryGetProperty("more_info", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                    return new TwilioApiException(statusCode, code, message ?? $"Twilio answered HTTP {(int)statusCode}.", moreInfo);
                }
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's HTML page, for instance): fall through and keep a short excerpt.
            }
        }

        var excerpt = string.IsNullOrWhiteSpace(body) ? string.Empty : ": " + (body.Length > 200 ? body[..200] : body);
        return new TwilioApiException(statusCode, null, $"Twilio answered HTTP {(int)statusCode}{excerpt}");
    }

    /// <inheritdoc />
    public override string ToString() => $"{GetType().FullName}: HTTP {(int)StatusCode}, code {Code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}: {Message} ({MoreInfo})";
}
