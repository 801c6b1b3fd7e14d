using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentLocator.Tests.Infrastructure;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentLocator.Tests.Web;

/// <summary>What the owner sees when things go wrong: a refused save, the Api down, a dead invitation link.</summary>
public sealed partial class OwnerAppBrowserTests
{
    private static readonly TimeSpan ResourceTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task ARefusedSettingsSaveSaysWhyInHebrewBesideTheFieldAndKeepsWhatTheOwnerTyped()
    {
        using var api = NewApiClient();
        var business = await OwnedBusinessAsync(api);
        var owner = business.Owner;
        var takenNumber = $"+972358{NewSuffix()}";
        using (var other = await api.PostAsJsonAsync(new Uri("api/businesses", UriKind.Relative), new { name = "עסק שכן", phoneNumbers = new[] { takenNumber } }))
        {
            other.EnsureSuccessStatusCode();
        }

        await owner.GotoAsync($"b/{business.Id}/settings");
        await owner.WaitInteractiveAsync();
        await owner.FluentInput("נוסח הברכה").FillAsync("ברכה שלא תישמר עדיין");
        await owner.FluentInput("מספר השולח בוואטסאפ").FillAsync("לא מספר");
        await owner.FluentInput("אזור זמן").FillAsync("Mars/Olympus_Mons");
        await owner.FluentButton("שמירה").ClickAsync();

        // The Api's validation problem, worded in Hebrew beside each field (its English messages never reach the page).
        await Expect(owner.GetByText("חלק מהפרטים אינם תקינים. בדקו את השדות המסומנים.")).ToBeVisibleAsync();
        await Expect(owner.GetByText("אזור הזמן אינו מוכר. כתבו למשל Asia/Jerusalem.")).ToBeVisibleAsync();
        await Expect(owner.GetByText("זה אינו מספר טלפון.", new() { Exact = false })).ToBeVisibleAsync();
        await Expect(owner.Locator("main")).Not.ToContainTextAsync("IANA");
        await Expect(owner.Locator("main")).Not.ToContainTextAsync("E.164");
        // What the owner typed is still in the form, and nothing was saved.
        await Expect(owner.FluentInput("נוסח הברכה")).ToHaveValueAsync("ברכה שלא תישמר עדיין");
        await Expect(owner.FluentInput("אזור זמן")).ToHaveValueAsync("Mars/Olympus_Mons");
        await owner.AssertAccessibleAsync("settings-refused");
        await owner.CaptureAsync(fixture, "settings-refused");
        Assert.Equal(JsonValueKind.Null, (await GetJsonAsync(api, $"api/businesses/{business.Id}")).GetProperty("greetingText").ValueKind);

        // Fixed, but one of its numbers belongs to another business: the conflict, in Hebrew, and the numbers stay as typed.
        await owner.FluentInput("מספר השולח בוואטסאפ").FillAsync("");
        await owner.FluentInput("אזור זמן").FillAsync("Asia/Jerusalem");
        var phones = owner.FluentInput("מספרי הטלפון של העסק (מספר בכל שורה)");
        await phones.FillAsync($"{business.Number}\n{takenNumber}");
        await owner.FluentButton("שמירה").ClickAsync();
        await Expect(owner.GetByText("מספר הטלפון כבר שייך לעסק אחר.")).ToBeVisibleAsync();
        await Expect(phones).ToHaveValueAsync($"{business.Number}\n{takenNumber}");
        await Expect(owner.FluentInput("נוסח הברכה")).ToHaveValueAsync("ברכה שלא תישמר עדיין");

        await phones.FillAsync(business.Number);
        await owner.FluentButton("שמירה").ClickAsync();
        await Expect(owner.GetByText("ההגדרות נשמרו.")).ToBeVisibleAsync();
        Assert.Equal("ברכה שלא תישמר עדיין", (await GetJsonAsync(api, $"api/businesses/{business.Id}")).GetProperty("greetingText").GetString());
    }

    [Fact]
    public async Task WhileTheApiIsDownThePagesSayItInHebrewKeepTheOwnersNoteAndRecoverWhenItIsBack()
    {
        using var api = NewApiClient();
        var business = await OwnedBusinessAsync(api);
        var owner = business.Owner;
        var call = await SimulateCallAsync(api, business.Number, "+972537770033");
        await owner.GotoAsync($"b/{business.Id}/calls/{call.Id}");
        await owner.WaitInteractiveAsync();
        var note = owner.FluentInput("הערה שלי");
        await note.FillAsync("להתקשר אחרי הצהריים");

        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var stopped = await commands.ExecuteCommandAsync("api", KnownResourceCommands.StopCommand).WaitAsync(ResourceTimeout);
        Assert.True(stopped.Success, $"the api did not stop: {stopped.Message}");
        try
        {
            await fixture.App.ResourceNotifications.WaitForResourceAsync("api", KnownResourceStates.TerminalStates).WaitAsync(ResourceTimeout);

            // Saving fails visibly, in Hebrew; the note stays typed; the page keeps working (no crash banner).
            await owner.FluentButton("שמירת ההערה").ClickAsync();
            await Expect(owner.GetByText("השרת אינו זמין כרגע. נסו שוב בעוד רגע.")).ToBeVisibleAsync();
            await Expect(note).ToHaveValueAsync("להתקשר אחרי הצהריים");
            await Expect(owner.Locator("#blazor-error-ui")).ToBeHiddenAsync();
            await owner.AssertAccessibleAsync("call-api-down");
            await owner.CaptureAsync(fixture, "call-api-down");

            // A page opened now answers 200 with the same message, not an error page.
            var leads = await owner.GotoAsync($"b/{business.Id}");
            Assert.Equal(200, leads!.Status);
            await owner.WaitInteractiveAsync();
            await Expect(owner.GetByText("השרת אינו זמין כרגע. נסו שוב בעוד רגע.")).ToBeVisibleAsync();
            await Expect(owner.Locator("#blazor-error-ui")).ToBeHiddenAsync();
            await owner.CaptureAsync(fixture, "leads-api-down");
        }
        finally
        {
            var started = await commands.ExecuteCommandAsync("api", KnownResourceCommands.StartCommand).WaitAsync(ResourceTimeout);
            Assert.True(started.Success, $"the api did not start again: {started.Message}");
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("api").WaitAsync(ResourceTimeout);
        }

        // The Api is back: the same page loads the lead, and the note saves.
        await owner.ReloadAsync();
        await owner.WaitInteractiveAsync();
        await Expect(owner.Locator("a.lead-link", new() { HasTextString = "053-777-0033" })).ToBeVisibleAsync();
        await owner.Locator("a.lead-link", new() { HasTextString = "053-777-0033" }).ClickAsync();
        await owner.WaitInteractiveAsync();
        await owner.FluentInput("הערה שלי").FillAsync("להתקשר אחרי הצהריים");
        await owner.FluentButton("שמירת ההערה").ClickAsync();
        await Expect(owner.GetByText("נשמר.")).ToBeVisibleAsync();
        Assert.Equal("להתקשר אחרי הצהריים", (await GetJsonAsync(api, $"api/calls/{call.Id}")).GetProperty("ownerNote").GetString());
    }

    [Fact]
    public async Task AnExpiredOrUsedInvitationSaysSoInHebrewAndSetsNoPassword()
    {
        using var api = NewApiClient();
        var database = await fixture.App.GetConnectionStringAsync("agentlocator");
        Assert.NotNull(database);

        // Expired while the owner had it open: the password is refused, and opening it again shows why, with no form.
        var (_, _, _, expiredEmail, expired) = await InvitedBusinessAsync(api);
        var late = await fixture.NewPhonePageAsync();
        await late.GotoAsync(expired);
        await late.GetByLabel("סיסמה", new() { Exact = true }).FillAsync(OwnerPassword);
        await late.GetByLabel("אימות סיסמה").FillAsync(OwnerPassword);
        await Sql.ScalarAsync<int>(database, """UPDATE web.invitations SET "ExpiresAt" = now() - interval '1 minute' WHERE "Email" = $1 RETURNING 1""", expiredEmail);
        await late.GetByRole(AriaRole.Button, new() { Name = "יצירת החשבון" }).ClickAsync();
        await Expect(late.GetByText("פג התוקף של קישור ההזמנה. בקשו ממנהל המערכת הזמנה חדשה.")).ToBeVisibleAsync();
        await Expect(late.GetByLabel("אימות סיסמה")).ToHaveCountAsync(0);
        await late.GotoAsync(expired);
        await Expect(late.GetByText("פג התוקף של קישור ההזמנה. בקשו ממנהל המערכת הזמנה חדשה.")).ToBeVisibleAsync();
        await Expect(late.GetByLabel("אימות סיסמה")).ToHaveCountAsync(0);
        await late.AssertAccessibleAsync("invitation-expired");
        await late.CaptureAsync(fixture, "invitation-expired");
        await AssertCannotSignInAsync(expiredEmail);

        // Used: a second browser that opened the link before the owner accepted cannot set another password with it.
        var (businessId, _, _, usedEmail, used) = await InvitedBusinessAsync(api);
        var second = await fixture.NewPhonePageAsync();
        await second.GotoAsync(used);
        var first = await fixture.NewPhonePageAsync();
        await first.GotoAsync(used);
        await first.GetByLabel("סיסמה", new() { Exact = true }).FillAsync(OwnerPassword);
        await first.GetByLabel("אימות סיסמה").FillAsync(OwnerPassword);
        await first.GetByRole(AriaRole.Button, new() { Name = "יצירת החשבון" }).ClickAsync();
        await first.WaitForURLAsync(new Regex($"/b/{businessId}$"));
        await second.GetByLabel("סיסמה", new() { Exact = true }).FillAsync("Another-Passw0rd-456");
        await second.GetByLabel("אימות סיסמה").FillAsync("Another-Passw0rd-456");
        await second.GetByRole(AriaRole.Button, new() { Name = "יצירת החשבון" }).ClickAsync();
        await Expect(second.GetByText("כבר נעשה שימוש בקישור ההזמנה הזה.", new() { Exact = false })).ToBeVisibleAsync();
        await Expect(second.GetByLabel("אימות סיסמה")).ToHaveCountAsync(0);
        await second.GotoAsync(used);
        await Expect(second.GetByText("כבר נעשה שימוש בקישור ההזמנה הזה.", new() { Exact = false })).ToBeVisibleAsync();
        await AssertCannotSignInAsync(usedEmail, "Another-Passw0rd-456");
        // The owner's own password still works.
        await SignInAsync(usedEmail, OwnerPassword, new Regex($"/b/{businessId}$"));
    }

    private async Task AssertCannotSignInAsync(string email, string password = OwnerPassword)
    {
        var page = await fixture.NewPhonePageAsync();
        await page.GotoAsync("login");
        await page.GetByLabel("דוא\"ל").FillAsync(email);
        await page.GetByLabel("סיסמה").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "כניסה" }).ClickAsync();
        await Expect(page.GetByText("הדוא\"ל או הסיסמה שגויים.")).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }
}
