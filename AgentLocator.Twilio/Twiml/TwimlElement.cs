using System.Xml;

namespace AgentLocator.Twilio.Twiml;

/// <summary>A TwiML element: a name, attributes in insertion order, optional text, children.</summary>
internal sealed class TwimlElement(string name)
{
    private List<KeyValuePair<string, string>>? _attributes;
    private List<TwimlElement>? _children;

    public string Name { get; } = name;

    public string? Text { get; set; }

    public TwimlElement Attribute(string name, string? value)
    {
        if (value is not null)
        {
            (_attributes ??= []).Add(new(name, XmlTextSanitizer.Sanitize(value)));
        }

        return this;
    }

    public TwimlElement Attribute(string name, int? value) =>
        value is null ? this : Attribute(name, value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public TwimlElement Attribute(string name, bool? value) =>
        value is null ? this : Attribute(name, value.Value ? "true" : "false");

    public TwimlElement WithText(string? text)
    {
        Text = XmlTextSanitizer.Sanitize(text);
        return this;
    }

    public TwimlElement Add(TwimlElement child)
    {
        (_children ??= []).Add(child);
        return this;
    }

    public void WriteTo(XmlWriter writer)
    {
        writer.WriteStartElement(Name);
        if (_attributes is not null)
        {
            foreach (var (name, value) in _attributes)
            {
                writer.WriteAttributeString(name, value);
            }
        }

        if (!string.IsNullOrEmpty(Text))
        {
            writer.WriteString(Text);
        }

        if (_children is not null)
        {
            foreach (var child in _children)
            {
                child.WriteTo(writer);
            }
        }

        writer.WriteEndElement();
    }
}
