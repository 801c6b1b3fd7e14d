using AgentLocator.Twilio.Twiml;

namespace AgentLocator.Twilio.Rest;

/// <summary>What to do with a live call: redirect it to a URL, run inline TwiML, or hang up.</summary>
public sealed class CallUpdate
{
    /// <summary>Twilio's limit for inline <c>Twiml</c>.</summary>
    public const int MaxTwimlLength = 4000;

    private readonly KeyValuePair<string, string>[] _form;

    private CallUpdate(string description, params KeyValuePair<string, string>[] form)
    {
        Description = description;
        _form = form;
    }

    /// <summary>A short description for logs (<c>redirect</c>, <c>twiml</c>, <c>complete</c>).</summary>
    public string Description { get; }

    /// <summary>The form fields sent to Twilio.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Form => _form;

    /// <summary>Makes Twilio request <paramref name="url"/> (absolute) and run the TwiML it answers.</summary>
    public static CallUpdate Redirect(string url, string method = "POST")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"A call redirect URL must be an absolute http(s) URL: '{url}'.", nameof(url));
        }

        return new CallUpdate("redirect", new("Url", url), new("Method", method));
    }

    /// <summary>Runs inline TwiML on the call (URLs inside it must be absolute).</summary>
    public static CallUpdate WithTwiml(TwimlResponse twiml)
    {
        ArgumentNullException.ThrowIfNull(twiml);
        return WithTwiml(twiml.ToString());
    }

    /// <summary>Runs inline TwiML on the call (URLs inside it must be absolute).</summary>
    public static CallUpdate WithTwiml(string twiml)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(twiml);
        if (twiml.Length > MaxTwimlLength)
        {
            throw new ArgumentException($"Inline TwiML is {twiml.Length} characters; Twilio accepts at most {MaxTwimlLength}.", nameof(twiml));
        }

        return new CallUpdate("twiml", new KeyValuePair<string, string>("Twiml", twiml));
    }

    /// <summary>Ends the call (<c>Status=completed</c>).</summary>
    public static CallUpdate Complete() => new("complete", new KeyValuePair<string, string>("Status", "completed"));
}
