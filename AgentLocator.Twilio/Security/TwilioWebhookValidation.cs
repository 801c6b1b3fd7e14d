using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace AgentLocator.Twilio.Security;

/// <summary>Checks an incoming ASP.NET Core webhook request with a <see cref="TwilioSignatureValidator"/>.</summary>
public static class TwilioWebhookValidation
{
    /// <summary>
    /// The URL Twilio requested and signed: <paramref name="publicBaseUrl"/> (scheme, host as configured,
    /// port, and any path prefix a proxy strips; no trailing slash needed) followed by the request target
    /// exactly as Kestrel received it (path and query string, undecoded). Never the internal address.
    /// </summary>
    public static string GetSignedUrl(this HttpRequest request, string publicBaseUrl)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(publicBaseUrl);
        var rawTarget = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var target = rawTarget is { Length: > 0 } && rawTarget[0] == '/'
            ? rawTarget
            : request.PathBase.ToUriComponent() + request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
        return publicBaseUrl.TrimEnd('/') + target;
    }

    /// <summary>
    /// Whether the request carries a valid <c>X-Twilio-Signature</c>. A request whose URL has <c>bodySHA256</c>
    /// is checked with its raw body; a form POST with its fields exactly as sent (read from the raw body:
    /// ASP.NET Core's form collection merges names that differ only in case); anything else as a GET.
    /// The body is buffered, so handlers can read it again.
    /// </summary>
    public static async Task<bool> ValidateAsync(
        this TwilioSignatureValidator validator,
        HttpRequest request,
        string publicBaseUrl,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(request);
        string? signature = request.Headers[TwilioSignatureValidator.SignatureHeader];
        if (string.IsNullOrEmpty(signature))
        {
            return false;
        }

        var url = request.GetSignedUrl(publicBaseUrl);
        if (request.Query.ContainsKey(TwilioSignatureValidator.BodyHashParameter))
        {
            return validator.IsValidWithBody(url, await ReadBodyAsync(request, cancellationToken), signature);
        }

        if (request.HasFormContentType)
        {
            var fields = new List<KeyValuePair<string, string>>();
            using var reader = new FormReader(await ReadBodyAsync(request, cancellationToken));
            while (reader.ReadNextPair() is { } pair)
            {
                fields.Add(pair);
            }

            return validator.IsValid(url, fields, signature);
        }

        return validator.IsValid(url, [], signature);
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        request.EnableBuffering();
        request.Body.Position = 0;
        using var reader = new StreamReader(request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        var body = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        request.Body.Position = 0;
        return body;
    }
}
