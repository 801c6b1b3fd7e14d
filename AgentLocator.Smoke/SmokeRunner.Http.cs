using System.Diagnostics;
using System.Net.Http.Json;
using AgentLocator.Twilio.Security;

namespace AgentLocator.Smoke;

public sealed partial class SmokeRunner
{
    private const string ApiKeyHeader = "X-Api-Key";

    private string ApiUrl(string path) => _options.BaseUrl.ToString().TrimEnd('/') + path;

    private Task<HttpReply> GetAsync(string url, CancellationToken cancellationToken, bool withApiKey = false) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, url), withApiKey, cancellationToken);

    private Task<HttpReply> SendJsonAsync<T>(HttpMethod method, string path, T body, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(method, ApiUrl(path)) { Content = JsonContent.Create(body) }, withApiKey: true, cancellationToken);

    /// <summary>
    /// Posts a Twilio webhook: a form body, signed (when a token is given and <paramref name="sign"/>) over the
    /// public URL plus the path — the URL Twilio itself would have used.
    /// </summary>
    private Task<HttpReply> PostWebhookAsync(string path, IReadOnlyList<KeyValuePair<string, string>> form, bool sign, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, ApiUrl(path)) { Content = new FormUrlEncodedContent(form) };
        if (sign && _options.AuthToken is { } token)
        {
            var signature = new TwilioRequestSigner(token).Sign(_options.SigningBase + path, form);
            request.Headers.Add(TwilioSignatureValidator.SignatureHeader, signature);
        }
        return SendAsync(request, withApiKey: false, cancellationToken);
    }

    private async Task<HttpReply> SendAsync(HttpRequestMessage request, bool withApiKey, CancellationToken cancellationToken)
    {
        using (request)
        {
            if (withApiKey && _options.ApiKey is { } key)
            {
                request.Headers.Add(ApiKeyHeader, key);
            }
            var clock = Stopwatch.StartNew();
            using var response = await _http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return new HttpReply(response.StatusCode, body, response.Headers, response.Content.Headers, clock.Elapsed);
        }
    }

    private static List<KeyValuePair<string, string>> Form(params (string Key, string Value)[] fields) =>
        [.. fields.Select(f => KeyValuePair.Create(f.Key, f.Value))];

    private static void Within(HttpReply reply, TimeSpan budget, string what)
    {
        if (reply.Elapsed > budget)
        {
            throw new SmokeFailure($"{what} took {reply.Ms} ms, over the {budget.TotalMilliseconds:0} ms budget");
        }
    }
}
