namespace AgentLocator.Data.Model;

public static class CustomerSources
{
    public const string Call = "call";
    public const string WhatsApp = "whatsapp";
    public const string Manual = "manual";

    public static readonly string[] All = [Call, WhatsApp, Manual];
}

/// <summary>A person who contacted a business (a lead), or whom the business added by hand.</summary>
public class Customer
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid BusinessId { get; set; }

    public string? Name { get; set; }

    /// <summary>E.164; null for an anonymous caller.</summary>
    public string? Phone { get; set; }

    /// <summary>WhatsApp id (digits, no plus) when the customer wrote on WhatsApp.</summary>
    public string? WaId { get; set; }

    public string? Notes { get; set; }

    public string Source { get; set; } = CustomerSources.Manual;

    public DateTimeOffset FirstContactAt { get; set; }

    public DateTimeOffset LastContactAt { get; set; }

    /// <summary>The customer's last inbound WhatsApp message: free-form replies are allowed for 24 hours after it.</summary>
    public DateTimeOffset? LastInboundMessageAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
