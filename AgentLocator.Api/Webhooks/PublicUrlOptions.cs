using System.ComponentModel.DataAnnotations;

namespace AgentLocator.Api.Webhooks;

/// <summary>
/// Where Twilio reaches us: TwiML URLs and signature checks are built from <c>PublicBaseUrl</c>,
/// never from the internal address Kestrel sees (proxies and tunnels rewrite it).
/// </summary>
public sealed class PublicUrlOptions
{
    [Required(ErrorMessage = "PublicBaseUrl is required: the https:// address Twilio uses to reach the Api (environment variable PublicBaseUrl).")]
    [Url]
    public string PublicBaseUrl { get; set; } = "";

    /// <summary>The media WebSocket; default <c>wss://&lt;PublicBaseUrl host&gt;/ws/twilio-media</c>.</summary>
    public string? MediaStreamUrl { get; set; }

    public string Url(string path) => PublicBaseUrl.TrimEnd('/') + path;

    public string ResolvedMediaStreamUrl
    {
        get
        {
            if (!string.IsNullOrWhiteSpace(MediaStreamUrl))
            {
                return MediaStreamUrl.Trim();
            }
            var uri = new Uri(PublicBaseUrl);
            var scheme = uri.Scheme == Uri.UriSchemeHttps ? "wss" : "ws";
            return $"{scheme}://{uri.Authority}/ws/twilio-media";
        }
    }
}
