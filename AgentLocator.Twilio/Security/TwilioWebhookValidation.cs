using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AgentLocator.Twilio.Security;

/// <summary>Checks an incoming ASP.NET Core webhook request with a <see cref="TwilioRequestValidator"/>.</summary>
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
    /// Whether the request carries a valid <c>X-Twilio-Signature</c>: a form POST is checked with its
    /// parameters, a request whose URL has <c>bodySHA256</c> with its raw body (buffered, so handlers can
    /// read it again), anything else as a GET.
    /// </summary>
    public static async Task<bool> ValidateAsync(
        this TwilioRequestValidator validator,
        HttpRequest request,
        string publicBaseUrl,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(request);
        var url = request.GetSignedUrl(publicBaseUrl);
        string? signature = request.Headers[TwilioRequestValidator.SignatureHeader];
        if (string.IsNullOrEmpty(signature))
        {
            return false;
        }

        if (request.Query.ContainsKey(TwilioRequestValidator.BodyHashParameter))
        {
            request.EnableBuffering();
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, cancellationToken).ConfigureAwait(false);
            request.Body.Position = 0;
            return validator.ValidateWithBody(url, body.GetBuffer().AsSpan(0, (int)body.Length), signature);
        }

        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            return validator.Validate(url, form, signature);
        }

        return validator.ValidateGet(url, signature);
    }
}
