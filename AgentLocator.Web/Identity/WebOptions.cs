using System.ComponentModel.DataAnnotations;

namespace AgentLocator.Web.Identity;

/// <summary>The <c>Web:*</c> settings.</summary>
public sealed class WebOptions
{
    public const string Section = "Web";

    /// <summary>The Api, through service discovery.</summary>
    [Required]
    public string ApiBaseUrl { get; set; } = "https+http://api";

    /// <summary>A key the Api accepts in <c>X-Api-Key</c> (one of its <c>Crm:ApiKeys</c>); the AppHost generates one.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The first administrator, created at start when no user exists.</summary>
    public string? AdminEmail { get; set; }

    public string? AdminPassword { get; set; }

    /// <summary>How long an owner's invitation link works.</summary>
    [Range(1, 24 * 30)]
    public int InvitationLifetimeHours { get; set; } = 72;

    /// <summary>An approved WhatsApp template (HX…) for the invitation, its variable 1 the link; without one the link goes free-form.</summary>
    public string? InvitationTemplateContentSid { get; set; }

    /// <summary>An approved WhatsApp template (HX…) offered when a customer last wrote more than 24 hours ago; variable 1 is the business's name.</summary>
    public string? ReplyTemplateContentSid { get; set; }
}
