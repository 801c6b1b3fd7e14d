using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentLocator.Web.Identity;

/// <summary>Owners' invitations: created by an administrator, opened once before they expire to set a password.</summary>
public sealed class Invitations(WebIdentityDbContext db, UserManager<IdentityUser> users, IOptions<WebOptions> options, TimeProvider clock)
{
    /// <summary>A new invitation for <paramref name="email"/> to own <paramref name="businessId"/>; returns the token for the link.</summary>
    public async Task<string> CreateAsync(Guid businessId, string email, CancellationToken cancellationToken)
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = clock.GetUtcNow();
        db.Invitations.Add(new Invitation
        {
            BusinessId = businessId,
            Email = email.Trim(),
            TokenHash = Hash(token),
            CreatedAt = now,
            ExpiresAt = now.AddHours(options.Value.InvitationLifetimeHours),
        });
        await db.SaveChangesAsync(cancellationToken);
        return token;
    }

    /// <summary>The invitation behind <paramref name="token"/> if it can still be accepted.</summary>
    public async Task<Invitation?> FindOpenAsync(string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 100)
        {
            return null;
        }
        var hash = Hash(token);
        var invitation = await db.Invitations.SingleOrDefaultAsync(i => i.TokenHash == hash, cancellationToken);
        return invitation is { AcceptedAt: null } && invitation.ExpiresAt > clock.GetUtcNow() ? invitation : null;
    }

    /// <summary>Creates the owner's account with <paramref name="password"/> and uses the invitation up; errors are Identity's.</summary>
    public async Task<(IdentityUser? User, IReadOnlyList<string> Errors)> AcceptAsync(string token, string password, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var invitation = await FindOpenAsync(token, cancellationToken);
        if (invitation is null)
        {
            return (null, ["הקישור אינו בתוקף: ייתכן שכבר נעשה בו שימוש או שפג תוקפו. בקשו הזמנה חדשה."]);
        }
        var user = await users.FindByEmailAsync(invitation.Email);
        if (user is not null)
        {
            return (null, ["כבר קיים משתמש עם כתובת הדוא\"ל הזו."]);
        }
        user = new IdentityUser { UserName = invitation.Email, Email = invitation.Email, EmailConfirmed = true };
        var created = await users.CreateAsync(user, password);
        if (!created.Succeeded)
        {
            return (null, created.Errors.Select(e => e.Description).ToList());
        }
        await users.AddToRoleAsync(user, WebRoles.Owner);
        await users.AddClaimAsync(user, new Claim(WebRoles.BusinessClaim, invitation.BusinessId.ToString()));
        invitation.AcceptedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (user, []);
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
