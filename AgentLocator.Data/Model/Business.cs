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

    public bool Active { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Set when a business with history is deleted: its calls, customers and messages stay.</summary>
    public DateTimeOffset? DeletedAt { get; set; }
}

public class BusinessPhoneNumber
{
    public required string Number { get; set; }

    public Guid BusinessId { get; set; }
}
