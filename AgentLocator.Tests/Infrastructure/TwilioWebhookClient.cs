using AgentLocator.Twilio.Security;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>Posts webhooks the way Twilio does: a form body signed over the public URL.</summary>
public sealed class TwilioWebhookClient(HttpClient http, string publicBaseUrl, string authToken)
{
    private readonly TwilioRequestSigner _signer = new(authToken);

    public Task<HttpResponseMessage> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> form, bool sign = true,
        string? signatureOverride = null, IDictionary<string, string>? headers = null)
    {
        var fields = form.ToList();
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
        if (sign)
        {
            request.Headers.Add("X-Twilio-Signature", signatureOverride ?? _signer.Sign(publicBaseUrl.TrimEnd('/') + path, fields));
        }
        foreach (var (key, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Add(key, value);
        }
        return http.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostAsync(string path, params (string Key, string Value)[] form) =>
        PostAsync(path, form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));
}
