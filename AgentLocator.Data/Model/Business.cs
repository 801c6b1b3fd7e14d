namespace AgentLocator.Data.Model;

/// <summary>A business whose phone line AgentLocator answers.</summary>
public class Business
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    /// <summary>The Twilio numbers it owns, E.164; each number belongs to one business.</summary>
    public List<BusinessPhoneNumber> PhoneNumbers { get; set; } = [];

    /// <summary>Its WhatsApp sender, E.164 (without the <c>whatsapp:</c> prefix).</summary>
    public string? WhatsAppNumber { get; set; }

    /// <summary>The phone that receives lead notifications over WhatsApp, E.164.</summary>
    public string? NotificationPhone { get; set; }

    public string TimeZone { get; set; } = "Asia/Jerusalem";

    /// <summary>Optional text a greeting is rendered from; the pre-rendered Hebrew greeting plays when empty.</summary>
    public string? GreetingText { get; set; }

    /// <summary>Hebrew auto-reply to inbound WhatsApp messages; none when empty.</summary>
    public string? WhatsAppAutoReply { get; set; }

    public int MaxRecordingSeconds { get; set; } = 120;

    /// <summary>
    /// What the AI receptionist knows and does for this business, in Hebrew (who the business is, its
    /// services, hours, what to collect). The default persona applies when empty.
    /// </summary>
    public string? AssistantInstructions { get; set; }

    /// <summary>The provider's voice for this business (e.g. <c>marin</c>); the connection's or the default when empty.</summary>
    public string? AssistantVoice { get; set; }

    /// <summary>Whether calls are answered by the AI receptionist when a provider is configured (else the offline intake).</summary>
    public bool AiEnabled { get; set; } = true;

    /// <summary>Where a call goes when the AI receptionist fails mid-call: <see cref="AiFallbackModes"/>.</summary>
    public string AiFallback { get; set; } = AiFallbackModes.Intake;

    public bool Active { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Set when a business with history is deleted: its calls, customers and messages stay.</summary>
    public DateTimeOffset? DeletedAt { get; set; }
}

/// <summary>What happens to a live call whose AI receptionist fails.</summary>
public static class AiFallbackModes
{
    /// <summary>The offline intake continues the conversation from where it stands.</summary>
    public const string Intake = "intake";

    /// <summary>The caller is sent to voicemail.</summary>
    public const string Voicemail = "voicemail";

    public static readonly string[] All = [Intake, Voicemail];
}

public class BusinessPhoneNumber
{
    public required string Number { get; set; }

    public Guid BusinessId { get; set; }
}
