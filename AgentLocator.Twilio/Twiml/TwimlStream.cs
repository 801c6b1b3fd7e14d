namespace AgentLocator.Twilio.Twiml;

/// <summary>The <c>&lt;Parameter&gt;</c> nouns of a <c>&lt;Stream&gt;</c>; they arrive in <c>start.customParameters</c>.</summary>
public sealed class TwimlStream
{
    /// <summary>Twilio's limit: a parameter's name plus value must be shorter than this many characters.</summary>
    public const int MaxParameterLength = 500;

    private readonly TwimlElement _element;

    internal TwimlStream(TwimlElement element) => _element = element;

    /// <summary>Adds <c>&lt;Parameter name value/&gt;</c>.</summary>
    /// <exception cref="ArgumentException">The name is empty, or name plus value reach <see cref="MaxParameterLength"/> characters.</exception>
    public TwimlStream Parameter(string name, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);
        if (name.Length + value.Length >= MaxParameterLength)
        {
            throw new ArgumentException(
                $"Stream parameter '{name}' is {name.Length + value.Length} characters (name + value); Twilio requires fewer than {MaxParameterLength}.",
                nameof(value));
        }

        _element.Add(new TwimlElement("Parameter").Attribute("name", name).Attribute("value", value));
        return this;
    }
}
