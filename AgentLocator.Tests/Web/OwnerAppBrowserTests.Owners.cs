using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentLocator.Tests.AppHost;
using AgentLocator.Tests.Graph;
using Microsoft.Playwright;

namespace AgentLocator.Tests.Web;

/// <summary>What several browser tests start from: a business of their own whose owner has accepted an invitation.</summary>
public sealed partial class OwnerAppBrowserTests : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>The web app's last log lines after each test: what a failing test's output needs (a circuit's exception).</summary>
    public async Task DisposeAsync()
    {
        if (fixture.App is not null)
        {
            output.WriteLine("--- web log tail ---\n" + await fixture.App.LogTailAsync("web", 40));
        }
    }

    private const string OwnerPassword = "Owner-Passw0rd-123";

    /// <summary>A business, its owner's account and page.</summary>
    private sealed record OwnedBusiness(Guid Id, string Name, string Number, string OwnerEmail, IPage Owner);

    private HttpClient NewApiClient()
    {
        var api = new HttpClient { BaseAddress = fixture.Api };
        api.DefaultRequestHeaders.Add("X-Api-Key", GraphSmoke.ApiKey);
        return api;
    }

    private static string NewSuffix() => Random.Shared.Next(10_000, 99_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A business created through the Api; the administrator invites its owner from the admin page.</summary>
    private async Task<(Guid BusinessId, string Name, string Number, string OwnerEmail, string Invitation)> InvitedBusinessAsync(HttpClient api)
    {
        var suffix = NewSuffix();
        var name = $"עסק בדיקה {suffix}";
        var number = $"+972359{suffix}";
        using var response = await api.PostAsJsonAsync(new Uri("api/businesses", UriKind.Relative), new { name, phoneNumbers = new[] { number } });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var businessId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var email = $"owner{suffix}@agentlocator.test";

        var admin = await SignInAsync(WebGraphFixture.AdminEmail, WebGraphFixture.AdminPassword, new Regex("/admin$"));
        await admin.Locator("tr", new() { HasTextString = name }).Locator("fluent-button", new() { HasTextString = "הזמנה" }).ClickAsync();
        await admin.FluentInput("הדוא\"ל של בעל העסק").FillAsync(email);
        await admin.FluentButton("יצירת קישור הזמנה").ClickAsync();
        var invitation = await admin.Locator("#invite-link").GetAttributeAsync("href");
        Assert.NotNull(invitation);
        await admin.Context.CloseAsync();
        return (businessId, name, number, email, invitation);
    }

    /// <summary>A business whose owner has accepted the invitation and is signed in on the leads page.</summary>
    private async Task<OwnedBusiness> OwnedBusinessAsync(HttpClient api)
    {
        var (businessId, name, number, email, invitation) = await InvitedBusinessAsync(api);
        var owner = await fixture.NewPhonePageAsync();
        await owner.GotoAsync(invitation);
        await owner.GetByLabel("סיסמה", new() { Exact = true }).FillAsync(OwnerPassword);
        await owner.GetByLabel("אימות סיסמה").FillAsync(OwnerPassword);
        await owner.GetByRole(AriaRole.Button, new() { Name = "יצירת החשבון" }).ClickAsync();
        await owner.WaitForURLAsync(new Regex($"/b/{businessId}$"));
        await owner.WaitInteractiveAsync();
        return new OwnedBusiness(businessId, name, number, email, owner);
    }

    /// <summary>A fresh browser signed in as <paramref name="email"/>, waiting on the page the sign-in leads to.</summary>
    private async Task<IPage> SignInAsync(string email, string password, Regex landing)
    {
        var page = await fixture.NewPhonePageAsync();
        await page.GotoAsync("login");
        await page.GetByLabel("דוא\"ל").FillAsync(email);
        await page.GetByLabel("סיסמה").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "כניסה" }).ClickAsync();
        await page.WaitForURLAsync(landing);
        await page.WaitInteractiveAsync();
        return page;
    }
}
