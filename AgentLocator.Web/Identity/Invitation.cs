namespace AgentLocator.Web.Identity;

/// <summary>
/// An invitation for a business's owner: the link carries a random token, only its SHA-256 hash is kept; it works
/// once (<see cref="AcceptedAt"/>) and until <see cref="ExpiresAt"/>.
/// </summary>
public sealed class Invitation
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid BusinessId { get; set; }

    public required string Email { get; set; }

    public required string TokenHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? AcceptedAt { get; set; }
}
