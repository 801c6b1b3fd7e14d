using System.Text;
using AgentLocator.Twilio.Twiml;

namespace AgentLocator.Api.Webhooks;

/// <summary>A webhook answer as stored under its idempotency token: <c>204</c>, or <c>xml:</c> and the TwiML.</summary>
public static class WebhookReplay
{
    private const string XmlPrefix = "xml:";
    private const string NoContent = "204";

    public static string? Capture(object? result) => Unwrap(result) switch
    {
        TwimlHttpResult twiml => XmlPrefix + twiml.Twiml.ToString(),
        Microsoft.AspNetCore.Http.HttpResults.NoContent => NoContent,
        _ => null,
    };

    public static IResult? TryParse(string stored) => stored switch
    {
        NoContent => TypedResults.NoContent(),
        _ when stored.StartsWith(XmlPrefix, StringComparison.Ordinal) => new StoredTwimlResult(stored[XmlPrefix.Length..]),
        _ => null,
    };

    private static object? Unwrap(object? result) => result is INestedHttpResult nested ? Unwrap(nested.Result) : result;

    private sealed class StoredTwimlResult(string xml) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var bytes = Encoding.UTF8.GetBytes(xml);
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.ContentType = TwimlResponse.ContentType;
            httpContext.Response.ContentLength = bytes.Length;
            return httpContext.Response.Body.WriteAsync(bytes, httpContext.RequestAborted).AsTask();
        }
    }
}
