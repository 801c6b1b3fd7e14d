using Twilio.Rest.Api.V2010.Account;
using SdkTwiml = Twilio.Types.Twiml;
using SdkHttpMethod = Twilio.Http.HttpMethod;

namespace AgentLocator.Twilio.Rest;

/// <summary>What to do with a live call: redirect it to a URL, run inline TwiML, or hang up.</summary>
public sealed class CallUpdate
{
    /// <summary>Twilio's limit for inline <c>Twiml</c>.</summary>
    public const int MaxTwimlLength = 4000;

    private readonly Action<UpdateCallOptions> _apply;

    private CallUpdate(string description, Action<UpdateCallOptions> apply)
    {
        Description = description;
        _apply = apply;
    }

    /// <summary>A short description for logs (<c>redirect</c>, <c>twiml</c>, <c>complete</c>).</summary>
    public string Description { get; }

    /// <summary>Makes Twilio request <paramref name="url"/> (absolute) and run the TwiML it answers.</summary>
    public static CallUpdate Redirect(string url, string method = "POST")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"A call redirect URL must be an absolute http(s) URL: '{url}'.", nameof(url));
        }

        return new CallUpdate("redirect", o =>
        {
            o.Url = parsed;
            o.Method = new SdkHttpMethod(method.ToUpperInvariant());
        });
    }

    /// <summary>Runs inline TwiML on the call (URLs inside it must be absolute).</summary>
    public static CallUpdate WithTwiml(string twiml)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(twiml);
        if (twiml.Length > MaxTwimlLength)
        {
            throw new ArgumentException($"Inline TwiML is {twiml.Length} characters; Twilio accepts at most {MaxTwimlLength}.", nameof(twiml));
        }

        return new CallUpdate("twiml", o => o.Twiml = new SdkTwiml(twiml));
    }

    /// <summary>Ends the call (<c>Status=completed</c>).</summary>
    public static CallUpdate Complete() => new("complete", o => o.Status = CallResource.UpdateStatusEnum.Completed);

    /// <summary>The SDK's options for this update of <paramref name="callSid"/>.</summary>
    internal UpdateCallOptions ToOptions(string callSid, string accountSid)
    {
        var options = new UpdateCallOptions(callSid) { PathAccountSid = accountSid };
        _apply(options);
        return options;
    }
}
