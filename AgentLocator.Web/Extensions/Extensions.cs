using AgentLocator.Web.Api;
using AgentLocator.Web.Identity;
using AgentLocator.Web.Live;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.FluentUI.AspNetCore.Components;

namespace AgentLocator.Web.Extensions;

public static class Extensions
{
    public const string ConnectionName = "agentlocator";

    public static IHostApplicationBuilder AddWebApplicationServices(this IHostApplicationBuilder builder)
    {
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<WebOptions>().BindConfiguration(WebOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => development || !string.IsNullOrWhiteSpace(o.ApiKey),
                "Web:ApiKey (environment variable Web__ApiKey) must name a key the Api accepts (one of its Crm:ApiKeys) outside Development.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.AddIdentityStore();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddFluentUIComponents();
        builder.Services.AddScoped<BusinessAccess>();

        // The live call events (Redis pub/sub) behind the Live page.
        builder.AddRedisClient("redis");
        builder.Services.AddSingleton<LiveCalls>();
        builder.Services.AddHostedService(services => services.GetRequiredService<LiveCalls>());

        builder.Services.AddHttpClient<AgentLocatorApi>((services, http) =>
        {
            var options = services.GetRequiredService<IOptions<WebOptions>>().Value;
            http.BaseAddress = new Uri(options.ApiBaseUrl.TrimEnd('/') + "/");
            if (!string.IsNullOrWhiteSpace(options.ApiKey))
            {
                http.DefaultRequestHeaders.Add("X-Api-Key", options.ApiKey);
            }
        });
        return builder;
    }

    /// <summary>
    /// ASP.NET Core Identity on Postgres (<c>ConnectionStrings:agentlocator</c>, schema <c>web</c>): email and password,
    /// lockout after failed attempts, secure HTTP-only cookies, Hebrew messages; migrations and the first admin at start.
    /// </summary>
    private static void AddIdentityStore(this IHostApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionName)))
        {
            throw new InvalidOperationException(
                $"Missing connection string 'ConnectionStrings:{ConnectionName}' (environment variable ConnectionStrings__{ConnectionName}).");
        }
        builder.AddNpgsqlDbContext<WebIdentityDbContext>(ConnectionName,
            // Accepting an invitation is one transaction (account, role, business, invitation used): no retrying strategy around it.
            settings => settings.DisableRetry = true,
            options => options
                .UseNpgsql(npgsql => npgsql.MigrationsHistoryTable(WebIdentityDbContext.MigrationsHistoryTable, WebIdentityDbContext.Schema))
                // Migrating at start does not diff the model against the last migration's snapshot (two more models built,
                // about half a second of CPU per start): IdentityMigrationTests.TheIdentityModelHasNoChangeThatNoMigrationCovers does, before anything ships.
                .ConfigureWarnings(warnings => warnings.Ignore(RelationalEventId.PendingModelChangesWarning)));

        builder.Services.AddIdentity<IdentityUser, IdentityRole>(options =>
            {
                options.User.RequireUniqueEmail = true;
                options.Password.RequiredLength = 10;
                options.Password.RequireNonAlphanumeric = false;
                options.Lockout.MaxFailedAccessAttempts = 5;
                options.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
                options.Lockout.AllowedForNewUsers = true;
            })
            .AddEntityFrameworkStores<WebIdentityDbContext>()
            .AddDefaultTokenProviders()
            .AddErrorDescriber<HebrewIdentityErrors>();
        // Secure cookies wherever the app is deployed (behind a TLS ingress, ServiceDefaults' forwarded headers give the scheme);
        // a developer's http://localhost keeps them usable. Antiforgery refuses to run at all on plain HTTP with Always.
        var secure = builder.Environment.IsDevelopment() ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
        builder.Services.ConfigureApplicationCookie(cookie =>
        {
            cookie.Cookie.Name = "agentlocator.auth";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SecurePolicy = secure;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.LoginPath = "/login";
            cookie.AccessDeniedPath = "/";
            cookie.ExpireTimeSpan = TimeSpan.FromDays(14);
            cookie.SlidingExpiration = true;
        });
        builder.Services.AddAntiforgery(antiforgery => antiforgery.Cookie.SecurePolicy = secure);
        builder.Services.AddScoped<Invitations>();
        builder.Services.AddHostedService<IdentitySetup>();
    }
}
