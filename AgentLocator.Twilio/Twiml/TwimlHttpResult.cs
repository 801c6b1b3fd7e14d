using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace AgentLocator.Twilio.Twiml;

/// <summary>An <see cref="IResult"/> that answers a webhook with TwiML (<c>text/xml</c>, UTF-8, not cacheable).</summary>
public sealed class TwimlHttpResult(TwimlResponse twiml) : IResult
{
    /// <summary>The document this result writes.</summary>
    public TwimlResponse Twiml { get; } = twiml ?? throw new ArgumentNullException(nameof(twiml));

    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var bytes = Twiml.ToUtf8Bytes();
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = TwimlResponse.ContentType;
        response.ContentLength = bytes.Length;
        response.Headers[HeaderNames.CacheControl] = "no-cache, no-store";
        return response.Body.WriteAsync(bytes, httpContext.RequestAborted).AsTask();
    }
}

/// <summary>Converts a <see cref="TwimlResponse"/> to an endpoint result.</summary>
public static class TwimlResponseHttpExtensions
{
    /// <summary>Wraps the document in a <see cref="TwimlHttpResult"/> for a minimal API handler.</summary>
    public static TwimlHttpResult ToHttpResult(this TwimlResponse twiml) => new(twiml);
}
