using Microsoft.AspNetCore.Identity;

namespace AgentLocator.Web.Identity;

/// <summary>Sign-out (a form post with the antiforgery token), outside the Razor components.</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/account/logout", async (SignInManager<IdentityUser> signIn) =>
        {
            await signIn.SignOutAsync();
            return TypedResults.LocalRedirect("~/login");
        }).RequireAuthorization();
        return endpoints;
    }
}
