using AgentLocator.Twilio.Twiml;

namespace AgentLocator.Api.Webhooks;

/// <summary>A webhook answer as stored under its idempotency token: <c>204</c>, or <c>xml:</c> and the TwiML.</summary>
public static class WebhookReplay
{
    private const string XmlPrefix = "xml:";
    private const string NoContent = "204";

    public static string? Capture(object? result) => Unwrap(result) switch
    {
        TwimlResult twiml => XmlPrefix + twiml.Xml,
        Microsoft.AspNetCore.Http.HttpResults.NoContent => NoContent,
        _ => null,
    };

    public static IResult? TryParse(string stored) => stored switch
    {
        NoContent => TypedResults.NoContent(),
        _ when stored.StartsWith(XmlPrefix, StringComparison.Ordinal) => new TwimlResult(stored[XmlPrefix.Length..]),
        _ => null,
    };

    private static object? Unwrap(object? result) => result is INestedHttpResult nested ? Unwrap(nested.Result) : result;
}
