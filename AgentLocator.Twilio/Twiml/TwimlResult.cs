using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using TwimlDocument = Twilio.TwiML.TwiML;

namespace AgentLocator.Twilio.Twiml;

/// <summary>
/// Answers a webhook with a TwiML document (<c>text/xml</c>, UTF-8) that no cache keeps: Twilio must fetch
/// each call's instructions afresh.
/// </summary>
public sealed class TwimlResult : IResult
{
    /// <summary>The content type TwiML is answered with.</summary>
    public const string ContentType = "text/xml; charset=utf-8";

    /// <summary>The cache headers every webhook answer carries.</summary>
    public const string NoCache = "no-store, no-cache, must-revalidate, max-age=0";

    /// <summary>Renders an SDK document (<c>VoiceResponse</c>, <c>MessagingResponse</c>).</summary>
    public TwimlResult(TwimlDocument document)
        : this(Render(document))
    {
    }

    /// <summary>Wraps a document already rendered (a stored answer replayed).</summary>
    public TwimlResult(string xml) => Xml = xml ?? throw new ArgumentNullException(nameof(xml));

    /// <summary>The document, XML declaration included.</summary>
    public string Xml { get; }

    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var bytes = Encoding.UTF8.GetBytes(Xml);
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.ContentLength = bytes.Length;
        response.Headers[HeaderNames.CacheControl] = NoCache;
        response.Headers[HeaderNames.Pragma] = "no-cache";
        return response.Body.WriteAsync(bytes, httpContext.RequestAborted).AsTask();
    }

    private static string Render(TwimlDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return document.ToString();
    }
}

/// <summary>Turns an SDK TwiML document into an endpoint result.</summary>
public static class TwimlResultExtensions
{
    /// <summary>Wraps the document in a <see cref="TwimlResult"/> for a minimal API handler.</summary>
    public static TwimlResult ToResult(this TwimlDocument document) => new(document);
}
