using AgentLocator.Web.Api;

namespace AgentLocator.Web.Components.Shared;

/// <summary>The settings form: what the owner types, turned into the Api's business request (a full replacement).</summary>
public sealed class BusinessForm
{
    public string? Name { get; set; } = "";
    public string? Phones { get; set; } = "";
    public string? WhatsAppNumber { get; set; }
    public string? NotificationPhone { get; set; }
    public string? GreetingText { get; set; }
    public string? AssistantInstructions { get; set; }
    public string AssistantVoice { get; set; } = "";
    public bool AiEnabled { get; set; } = true;
    public string AiFallback { get; set; } = "intake";
    public string? TimeZone { get; set; } = "Asia/Jerusalem";
    /// <summary>As typed; something that is not a number is sent as 0, which the Api refuses with its range (the owner sees why).</summary>
    public string? MaxRecordingSeconds { get; set; } = "120";

    public static BusinessForm From(BusinessDto business) => new()
    {
        Name = business.Name,
        Phones = string.Join('\n', business.PhoneNumbers),
        WhatsAppNumber = business.WhatsAppNumber,
        NotificationPhone = business.NotificationPhone,
        GreetingText = business.GreetingText,
        AssistantInstructions = business.AssistantInstructions,
        AssistantVoice = business.AssistantVoice ?? "",
        AiEnabled = business.AiEnabled,
        AiFallback = business.AiFallback,
        TimeZone = business.TimeZone,
        MaxRecordingSeconds = business.MaxRecordingSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The request; fields this form does not show (active, WhatsApp auto-reply) keep <paramref name="current"/>'s values.</summary>
    public BusinessRequestDto ToRequest(BusinessDto? current) => new(
        Name ?? "",
        (Phones ?? "").Split(['\n', ',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
        Blank(WhatsAppNumber), Blank(NotificationPhone), TimeZone ?? "", current?.Active ?? true, Blank(GreetingText),
        current?.WhatsAppAutoReply,
        int.TryParse(MaxRecordingSeconds, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? seconds : 0,
        Blank(AssistantInstructions), Blank(AssistantVoice), AiEnabled, AiFallback);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
