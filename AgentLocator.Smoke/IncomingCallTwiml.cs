using System.Xml;
using System.Xml.Linq;

namespace AgentLocator.Smoke;

/// <summary>The parts of an incoming_call TwiML answer the smoke run checks and reuses (the stream's URL and parameters).</summary>
public sealed record IncomingCallTwiml(
    IReadOnlyList<string> Plays,
    bool HasConnect,
    string? ConnectAction,
    string? StreamUrl,
    string? StreamStatusCallback,
    IReadOnlyDictionary<string, string> Parameters)
{
    public static IncomingCallTwiml Parse(string xml)
    {
        XDocument document;
        try
        {
            document = XDocument.Parse(xml);
        }
        catch (XmlException ex)
        {
            throw new SmokeFailure($"the TwiML is not valid XML (Twilio error 12100): {ex.Message}");
        }
        var root = document.Root;
        if (root is null || root.Name.LocalName != "Response")
        {
            throw new SmokeFailure($"the TwiML root is <{root?.Name.LocalName}>, not <Response>");
        }
        var plays = root.Elements("Play").Select(p => p.Value.Trim()).ToList();
        var connect = root.Element("Connect");
        var stream = connect?.Element("Stream");
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in stream?.Elements("Parameter") ?? [])
        {
            if (parameter.Attribute("name")?.Value is { Length: > 0 } name)
            {
                parameters[name] = parameter.Attribute("value")?.Value ?? "";
            }
        }
        return new IncomingCallTwiml(plays, connect is not null, connect?.Attribute("action")?.Value, stream?.Attribute("url")?.Value,
            stream?.Attribute("statusCallback")?.Value, parameters);
    }
}
