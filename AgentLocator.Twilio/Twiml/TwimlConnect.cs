namespace AgentLocator.Twilio.Twiml;

/// <summary>The nouns of a <c>&lt;Connect&gt;</c> verb.</summary>
public sealed class TwimlConnect
{
    private readonly TwimlElement _element;

    internal TwimlConnect(TwimlElement element) => _element = element;

    /// <summary>
    /// <c>&lt;Stream url name statusCallback statusCallbackMethod&gt;</c>: a bidirectional Media Stream.
    /// The URL must be an absolute <c>wss://</c> (or <c>ws://</c> for local tests) URL without a query
    /// string or fragment; pass data with <see cref="TwimlStream.Parameter"/> instead.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is not an absolute ws/wss URL or carries a query string.</exception>
    public TwimlConnect Stream(
        string url,
        Action<TwimlStream>? configure = null,
        string? name = null,
        string? statusCallback = null,
        string? statusCallbackMethod = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (url.Contains('?') || url.Contains('#'))
        {
            throw new ArgumentException(
                $"A <Stream> URL must not carry a query string or fragment (Twilio drops it); use <Parameter> instead: '{url}'.",
                nameof(url));
        }

        if (!url.StartsWith("wss://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("ws://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"A <Stream> URL must be an absolute wss:// URL: '{url}'.", nameof(url));
        }

        var element = new TwimlElement("Stream")
            .Attribute("url", url)
            .Attribute("name", name)
            .Attribute("statusCallback", statusCallback)
            .Attribute("statusCallbackMethod", statusCallbackMethod);
        configure?.Invoke(new TwimlStream(element));
        _element.Add(element);
        return this;
    }
}
