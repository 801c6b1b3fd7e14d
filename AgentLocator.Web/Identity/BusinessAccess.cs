using System.Security.Claims;

namespace AgentLocator.Web.Identity;

/// <summary>Which businesses a signed-in user may see: an administrator all, an owner only the one in their claim.</summary>
public sealed class BusinessAccess
{
    public static bool IsAdmin(ClaimsPrincipal user) => user.IsInRole(WebRoles.Admin);

    public static Guid? OwnedBusiness(ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(WebRoles.BusinessClaim), out var id) ? id : null;

    public static bool CanAccess(ClaimsPrincipal user, Guid businessId) =>
        user.Identity?.IsAuthenticated == true && (IsAdmin(user) || OwnedBusiness(user) == businessId);
}
