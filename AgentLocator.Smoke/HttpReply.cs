using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace AgentLocator.Smoke;

/// <summary>A response read in full, with the time from sending the request to the last byte of the body.</summary>
public sealed record HttpReply(HttpStatusCode Status, string Body, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders, TimeSpan Elapsed)
{
    public int Code => (int)Status;

    public double Ms => Math.Round(Elapsed.TotalMilliseconds, 1);

    public string? MediaType => ContentHeaders.ContentType?.MediaType;

    public bool IsSuccess => Code is >= 200 and < 300;

    /// <summary><c>Cache-Control</c> carries <c>no-store</c> (parsed, or in the raw header when it does not parse).</summary>
    public bool NoStore =>
        Headers.CacheControl?.NoStore == true
        || (Headers.TryGetValues("Cache-Control", out var values) && values.Any(v => v.Contains("no-store", StringComparison.OrdinalIgnoreCase)));

    /// <summary>The start of the body, on one line, for a failure message.</summary>
    public string Snippet(int length = 160)
    {
        var flat = Body.ReplaceLineEndings(" ").Trim();
        return flat.Length <= length ? flat : flat[..length] + "…";
    }

    public JsonDocument Json()
    {
        try
        {
            return JsonDocument.Parse(Body);
        }
        catch (JsonException ex)
        {
            throw new SmokeFailure($"{Code} with a body that is not JSON ({ex.Message}): {Snippet()}");
        }
    }

    /// <summary>Fails unless the status is <paramref name="expected"/>.</summary>
    public HttpReply Expect(HttpStatusCode expected)
    {
        if (Status != expected)
        {
            throw new SmokeFailure($"expected {(int)expected}, got {Code}: {Snippet()}");
        }
        return this;
    }
}
