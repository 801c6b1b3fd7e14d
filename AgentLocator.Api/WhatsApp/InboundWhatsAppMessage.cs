using AgentLocator.Api.Webhooks;
namespace AgentLocator.Api.WhatsApp;

/// <summary>What Twilio posts to <c>/whatsapp/webhook</c> for one inbound message.</summary>
public sealed record InboundWhatsAppMessage(
    string MessageSid,
    string From,
    string To,
    string? Body,
    string? WaId,
    string? ProfileName,
    IReadOnlyList<string> MediaUrls,
    IReadOnlyList<string> MediaContentTypes,
    DateTimeOffset ReceivedAt)
{
    /// <summary>Twilio sends at most 10 media items per message.</summary>
    public const int MaxMedia = 10;

    public static bool TryParse(IFormCollection form, DateTimeOffset receivedAt, out InboundWhatsAppMessage message, out string error)
    {
        message = null!;
        var sid = form.Field("MessageSid") ?? form.Field("SmsMessageSid");
        if (sid is null || sid.Length is < 2 or > 64 || !sid.All(char.IsAsciiLetterOrDigit))
        {
            error = "MessageSid is required: 2 to 64 letters and digits, such as SM0123456789abcdef0123456789abcdef.";
            return false;
        }
        var from = form.Field("From");
        var to = form.Field("To");
        if (from is null || to is null)
        {
            error = "From and To are required (whatsapp:+E164).";
            return false;
        }
        var count = int.TryParse(form.Field("NumMedia"), out var n) ? Math.Clamp(n, 0, MaxMedia) : 0;
        var urls = new List<string>(count);
        var types = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            if (form.Field($"MediaUrl{i}") is { } url)
            {
                urls.Add(url);
                types.Add(form.Field($"MediaContentType{i}") ?? "application/octet-stream");
            }
        }
        var waId = form.Field("WaId");
        message = new InboundWhatsAppMessage(sid, from, to, form.Field("Body"),
            waId is not null && waId.Length <= 20 && waId.All(char.IsAsciiDigit) ? waId : null,
            form.Field("ProfileName") is { } name ? (name.Length > 200 ? name[..200] : name) : null,
            urls, types, receivedAt);
        error = "";
        return true;
    }
}
