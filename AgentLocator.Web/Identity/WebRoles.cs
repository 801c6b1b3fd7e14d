namespace AgentLocator.Web.Identity;

/// <summary>Who signs in: an administrator (every business) or a business's owner (theirs only).</summary>
public static class WebRoles
{
    public const string Admin = "admin";
    public const string Owner = "owner";

    /// <summary>The claim naming an owner's business.</summary>
    public const string BusinessClaim = "agentlocator:business";
}
