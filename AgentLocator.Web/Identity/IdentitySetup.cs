using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentLocator.Web.Identity;

/// <summary>
/// At start: the Identity migrations, the two roles, and the first administrator from <c>Web:AdminEmail</c> /
/// <c>Web:AdminPassword</c> when no user exists yet. Start-up fails (with the key named) rather than run without a way in.
/// </summary>
public sealed partial class IdentitySetup(IServiceScopeFactory scopes, IOptions<WebOptions> options, ILogger<IdentitySetup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<WebIdentityDbContext>();
        await db.Database.MigrateAsync(cancellationToken);

        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        foreach (var role in new[] { WebRoles.Admin, WebRoles.Owner })
        {
            if (!await roles.RoleExistsAsync(role))
            {
                Check(await roles.CreateAsync(new IdentityRole(role)), $"create the role {role}");
            }
        }

        var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
        if (await users.Users.AnyAsync(cancellationToken))
        {
            return;
        }
        var settings = options.Value;
        if (string.IsNullOrWhiteSpace(settings.AdminEmail) || string.IsNullOrEmpty(settings.AdminPassword))
        {
            LogNoAdmin(logger);
            return;
        }
        var admin = new IdentityUser { UserName = settings.AdminEmail.Trim(), Email = settings.AdminEmail.Trim(), EmailConfirmed = true };
        Check(await users.CreateAsync(admin, settings.AdminPassword), "create the administrator from Web:AdminEmail and Web:AdminPassword");
        Check(await users.AddToRoleAsync(admin, WebRoles.Admin), "make the first user an administrator");
        LogAdminCreated(logger);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static void Check(IdentityResult result, string what)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Could not {what}: {string.Join(" ", result.Errors.Select(e => e.Description))}");
        }
    }

    [LoggerMessage(EventId = 7001, EventName = "WEB_ADMIN_CREATED", Level = LogLevel.Information,
        Message = "WEB_ADMIN_CREATED the first administrator was created from Web:AdminEmail")]
    private static partial void LogAdminCreated(ILogger logger);

    [LoggerMessage(EventId = 7002, EventName = "WEB_NO_ADMIN", Level = LogLevel.Warning,
        Message = "WEB_NO_ADMIN no user exists and Web:AdminEmail / Web:AdminPassword are not set: nobody can sign in")]
    private static partial void LogNoAdmin(ILogger logger);
}
