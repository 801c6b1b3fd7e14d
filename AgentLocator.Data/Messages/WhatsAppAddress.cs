using AgentLocator.Data.Phones;

namespace AgentLocator.Data.Messages;

/// <summary>Twilio's WhatsApp addresses: <c>whatsapp:+E164</c>.</summary>
public static class WhatsAppAddress
{
    public const string Prefix = "whatsapp:";

    public static string For(string e164) => Prefix + e164;

    /// <summary>The E.164 number of a <c>whatsapp:+…</c> address (or of a plain number), or null.</summary>
    public static string? ToE164(string? address) => PhoneNumbers.NormalizeOrNull(address);
}
