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

    /// <summary>The invitation behind <paramref name="token"/> and whether it is open, used or expired (unknown: no invitation).</summary>
    public async Task<(InvitationState State, Invitation? Invitation)> FindAsync(string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 100)
        {
            return (InvitationState.Unknown, null);
        }
        var hash = Hash(token);
        var invitation = await db.Invitations.SingleOrDefaultAsync(i => i.TokenHash == hash, cancellationToken);
        var state = invitation switch
        {
            null => InvitationState.Unknown,
            { AcceptedAt: not null } => InvitationState.Used,
            _ when invitation.ExpiresAt <= clock.GetUtcNow() => InvitationState.Expired,
            _ => InvitationState.Open,
        };
        return (state, invitation);
    }

    /// <summary>Why an invitation link cannot set a password, in the owner's words.</summary>
    public static string Refusal(InvitationState state) => state switch
    {
        InvitationState.Expired => "פג התוקף של קישור ההזמנה. בקשו ממנהל המערכת הזמנה חדשה.",
        InvitationState.Used => "כבר נעשה שימוש בקישור ההזמנה הזה. אם זה החשבון שלכם, היכנסו עם הסיסמה שבחרתם.",
        _ => "קישור ההזמנה אינו תקין. בדקו שהעתקתם אותו במלואו, או בקשו ממנהל המערכת הזמנה חדשה.",
    };

    /// <summary>Creates the owner's account with <paramref name="password"/> and uses the invitation up; errors are Identity's.</summary>
    public async Task<(IdentityUser? User, IReadOnlyList<string> Errors)> AcceptAsync(string token, string password, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var (state, invitation) = await FindAsync(token, cancellationToken);
        if (state != InvitationState.Open || invitation is null)
        {
            return (null, [Refusal(state)]);
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

/// <summary>Whether an invitation link can still set a password.</summary>
public enum InvitationState
{
    Unknown,
    Open,
    Used,
    Expired,
}
