using Microsoft.Extensions.Options;

namespace AgentLocator.Twilio.Rest;

/// <summary>
/// Sends requests for Twilio's hosts (<c>api.twilio.com</c>, what the SDK and recording URLs name) to
/// <c>Twilio:ApiBaseUrl</c> when it is set to something else: how tests and staging point the services at a
/// fake Twilio. Other hosts, and everything when the setting is the default, pass through untouched.
/// </summary>
public sealed class TwilioApiBaseUrlHandler(IOptionsMonitor<TwilioOptions> options) : DelegatingHandler
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = options.CurrentValue.ApiBaseUrl;
        if (request.RequestUri is { IsAbsoluteUri: true } uri && IsTwilioHost(uri.Host) && !IsTwilioHost(target.Host))
        {
            request.RequestUri = new UriBuilder(uri)
            {
                Scheme = target.Scheme,
                Host = target.Host,
                Port = target.Port,
                Path = target.AbsolutePath.TrimEnd('/') + uri.AbsolutePath,
            }.Uri;
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>Whether <paramref name="host"/> is Twilio's (<c>twilio.com</c> or a subdomain).</summary>
    public static bool IsTwilioHost(string host) =>
        host.Equals("twilio.com", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".twilio.com", StringComparison.OrdinalIgnoreCase);
}
