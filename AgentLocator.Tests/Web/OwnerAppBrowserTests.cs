using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentLocator.Tests.AppHost;
using AgentLocator.Tests.Graph;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace AgentLocator.Tests.Web;

/// <summary>
/// The owners' web app in Debian's chromium against the whole graph: the administrator signs in, creates a business and
/// invites its owner; the owner accepts, sees the lead a call created, plays its recording, follows it up, replies on
/// WhatsApp (the fake Twilio receives it), changes a setting, and cannot reach another business's lead by editing the URL.
/// Each page is screenshotted (artifacts/web) and audited with axe-core.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed partial class OwnerAppBrowserTests(WebGraphFixture fixture, ITestOutputHelper output) : IClassFixture<WebGraphFixture>
{
    private const string CallerNumber = "+972529990011";

    [Fact]
    public async Task AnInvitedOwnerSeesTheirLeadPlaysItsRecordingRepliesChangesASettingAndCannotReachAnotherBusinesssLead()
    {
        var suffix = Random.Shared.Next(1000, 9999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var businessNumber = $"+9723555{suffix}";
        var whatsAppSender = $"+9723556{suffix}";
        var ownerEmail = $"owner{suffix}@agentlocator.test";
        using var api = new HttpClient { BaseAddress = fixture.Api };
        api.DefaultRequestHeaders.Add("X-Api-Key", GraphSmoke.ApiKey);

        // The administrator signs in, creates the business and an invitation for its owner.
        var admin = await fixture.NewPhonePageAsync();
        await admin.GotoAsync("login");
        await admin.AssertAccessibleAsync("login");
        await admin.CaptureAsync(fixture, "login");
        await admin.GetByLabel("דוא\"ל").FillAsync(WebGraphFixture.AdminEmail);
        await admin.GetByLabel("סיסמה").FillAsync(WebGraphFixture.AdminPassword);
        await admin.GetByRole(AriaRole.Button, new() { Name = "כניסה" }).ClickAsync();
        await admin.WaitForURLAsync(new Regex("/admin$"));
        await admin.WaitInteractiveAsync();
        await admin.FluentInput("שם העסק").FillAsync($"מספרת רותי {suffix}");
        await admin.FluentInput("מספר הטלפון של העסק").FillAsync(businessNumber);
        await admin.FluentInput("מספר השולח בוואטסאפ").FillAsync(whatsAppSender);
        await admin.FluentInput("טלפון להתראות (של בעל העסק)").FillAsync("050-123-4567");
        await admin.FluentButton("יצירת העסק").ClickAsync();
        await admin.FluentInput("הדוא\"ל של בעל העסק").FillAsync(ownerEmail);
        await admin.FluentButton("יצירת קישור הזמנה").ClickAsync();
        var invitation = await admin.Locator("#invite-link").GetAttributeAsync("href");
        Assert.NotNull(invitation);
        await admin.AssertAccessibleAsync("admin");
        await admin.CaptureAsync(fixture, "admin");

        var businessA = await BusinessIdAsync(api, businessNumber);
        // Another business with a lead of its own: the owner of A must never reach it.
        var businessB = await CreateBusinessAsync(api, $"עסק אחר {suffix}", $"+9723557{suffix}");
        var callB = await SimulateCallAsync(api, $"+9723557{suffix}", "+972541112233");

        // The owner opens the invitation in their own browser and sets a password.
        var owner = await fixture.NewPhonePageAsync();
        await owner.GotoAsync(invitation);
        await owner.AssertAccessibleAsync("invitation");
        await owner.GetByLabel("סיסמה", new() { Exact = true }).FillAsync("Owner-Passw0rd-123");
        await owner.GetByLabel("אימות סיסמה").FillAsync("Owner-Passw0rd-123");
        await owner.GetByRole(AriaRole.Button, new() { Name = "יצירת החשבון" }).ClickAsync();
        await owner.WaitForURLAsync(new Regex($"/b/{businessA}$"));
        await owner.WaitInteractiveAsync();
        await Expect(owner.GetByText("אין עדיין לידים")).ToBeVisibleAsync();
        // Single use: the same link again is refused.
        var again = await fixture.NewPhonePageAsync();
        await again.GotoAsync(invitation);
        await Expect(again.GetByText("כבר נעשה שימוש בקישור ההזמנה הזה.", new() { Exact = false })).ToBeVisibleAsync();

        // A caller reaches the business, the live stream never starts, the caller leaves a voicemail.
        var callA = await SimulateCallAsync(api, businessNumber, CallerNumber, fixture.Twilio.AddRecording(Wav.Tone(seconds: 2)).Url);
        await WaitForStoredRecordingAsync(api, businessA, callA.Id);

        await owner.ReloadAsync();
        await owner.WaitInteractiveAsync();
        var row = owner.Locator("a.lead-link", new() { HasTextString = "052-999-0011" });
        await Expect(row).ToBeVisibleAsync();
        await Expect(row.GetByText("לא נקרא")).ToBeVisibleAsync();
        await Expect(owner.GetByRole(AriaRole.Cell, new() { Name = "תא קולי" })).ToBeVisibleAsync();
        await owner.AssertAccessibleAsync("leads");
        await owner.CaptureAsync(fixture, "leads");

        // The call: its timeline, the recording plays, the lead is followed up.
        await row.ClickAsync();
        await owner.WaitForURLAsync(new Regex($"/b/{businessA}/calls/{callA.Id}$"));
        await owner.WaitInteractiveAsync();
        var audio = owner.Locator("li.recording audio");
        await Expect(audio).ToBeVisibleAsync();
        var played = await audio.EvaluateAsync<double>("""
            async a => {
                await a.play();
                const start = Date.now();
                while (!a.error && a.currentTime === 0 && Date.now() - start < 15000) await new Promise(r => setTimeout(r, 100));
                return a.error ? -1 : a.currentTime;
            }
            """);
        Assert.True(played > 0, $"the recording did not play (currentTime {played})");
        await owner.FluentButton("סימון: חזרתי ללקוח").ClickAsync();
        await Expect(owner.Locator("#lead-status")).ToHaveTextAsync("חזרתי ללקוח");
        await owner.FluentInput("הערה שלי").FillAsync("חזרתי אליה, קובעות תור לשבוע הבא");
        await owner.FluentButton("שמירת ההערה").ClickAsync();
        await Expect(owner.GetByText("נשמר.")).ToBeVisibleAsync();
        await owner.AssertAccessibleAsync("call");
        await owner.CaptureAsync(fixture, "call");
        var followedUp = await GetJsonAsync(api, $"api/calls/{callA.Id}");
        Assert.Equal("called_back", followedUp.GetProperty("leadStatus").GetString());
        Assert.Equal("חזרתי אליה, קובעות תור לשבוע הבא", followedUp.GetProperty("ownerNote").GetString());
        Assert.NotEqual(JsonValueKind.Null, followedUp.GetProperty("readAt").ValueKind);

        // WhatsApp: the caller writes, the owner answers from the page, the fake Twilio receives it.
        await InboundWhatsAppAsync(whatsAppSender, CallerNumber, "היי, אפשר לקבוע לשלישי?");
        await owner.GotoAsync($"b/{businessA}/whatsapp");
        await owner.WaitInteractiveAsync();
        await owner.Locator("a.conversation", new() { HasTextString = "052-999-0011" }).ClickAsync();
        await Expect(owner.GetByText("היי, אפשר לקבוע לשלישי?")).ToBeVisibleAsync();
        await owner.FluentInput("תשובה", exact: true).FillAsync("בטח, יום שלישי ב-10:00");
        await owner.FluentButton("שליחה").ClickAsync();
        await Expect(owner.Locator("li.outbound", new() { HasTextString = "בטח, יום שלישי ב-10:00" })).ToBeVisibleAsync();
        var sent = await fixture.Twilio.WaitForRequestAsync(
            r => r.Path.EndsWith("/Messages.json", StringComparison.Ordinal) && r.FormValue("Body") == "בטח, יום שלישי ב-10:00", TimeSpan.FromSeconds(30));
        Assert.Equal($"whatsapp:{CallerNumber}", sent.FormValue("To"));
        Assert.Equal($"whatsapp:{whatsAppSender}", sent.FormValue("From"));
        await owner.AssertAccessibleAsync("whatsapp");
        await owner.CaptureAsync(fixture, "whatsapp");

        // Customers: the caller is there, found by phone.
        await owner.GotoAsync($"b/{businessA}/customers");
        await owner.WaitInteractiveAsync();
        await owner.FluentInput("חיפוש לפי שם או טלפון").FillAsync("0011");
        await owner.FluentButton("חיפוש").ClickAsync();
        await Expect(owner.GetByText("052-999-0011")).ToBeVisibleAsync();
        await owner.AssertAccessibleAsync("customers");
        await owner.CaptureAsync(fixture, "customers");

        // Live now: the voicemail call has not hung up yet; when Twilio says it completed, it leaves the page as it happens.
        await owner.GotoAsync($"b/{businessA}/live");
        await owner.WaitInteractiveAsync();
        await Expect(owner.Locator("ul.live-calls li")).ToHaveCountAsync(1);
        await Expect(owner.Locator("ul.live-calls li").GetByText("עברה לתא הקולי")).ToBeVisibleAsync();
        await owner.AssertAccessibleAsync("live");
        await owner.CaptureAsync(fixture, "live");
        await PostFormAsync(api, "webhook/call_status", ("CallSid", callA.Sid), ("CallStatus", "completed"), ("CallDuration", "30"),
            ("AccountSid", fixture.Twilio.AccountSid));
        await Expect(owner.GetByText("אין כרגע שיחות פעילות")).ToBeVisibleAsync();

        // Settings: a changed greeting is saved in the Api.
        await owner.GotoAsync($"b/{businessA}/settings");
        await owner.WaitInteractiveAsync();
        await owner.FluentInput("נוסח הברכה").FillAsync("שלום, הגעתם למספרת רותי");
        await owner.FluentButton("שמירה").ClickAsync();
        await Expect(owner.GetByText("ההגדרות נשמרו.")).ToBeVisibleAsync();
        await owner.AssertAccessibleAsync("settings");
        await owner.CaptureAsync(fixture, "settings");
        Assert.Equal("שלום, הגעתם למספרת רותי", (await GetJsonAsync(api, $"api/businesses/{businessA}")).GetProperty("greetingText").GetString());

        // Another business's lead, by changing the ids in the URL: not found, and nothing of it shown.
        await owner.GotoAsync($"b/{businessA}/calls/{callB.Id}");
        await Expect(owner.GetByRole(AriaRole.Heading, new() { Name = "לא נמצא" })).ToBeVisibleAsync();
        await Expect(owner.GetByText("054-111-2233")).ToHaveCountAsync(0);
        await owner.GotoAsync($"b/{businessB}/calls/{callB.Id}");
        await Expect(owner.GetByRole(AriaRole.Heading, new() { Name = "לא נמצא" })).ToBeVisibleAsync();
        await Expect(owner.GetByText("054-111-2233")).ToHaveCountAsync(0);
        output.WriteLine($"screenshots: {fixture.ArtifactsDirectory}");
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient api, string path)
    {
        using var response = await api.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<Guid> BusinessIdAsync(HttpClient api, string number)
    {
        var page = await GetJsonAsync(api, "api/businesses?limit=200");
        return page.GetProperty("items").EnumerateArray()
            .Single(b => b.GetProperty("phoneNumbers").EnumerateArray().Any(p => p.GetString() == number)).GetProperty("id").GetGuid();
    }

    private static async Task<Guid> CreateBusinessAsync(HttpClient api, string name, string number)
    {
        using var response = await api.PostAsJsonAsync(new Uri("api/businesses", UriKind.Relative), new { name, phoneNumbers = new[] { number } });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    /// <summary>
    /// Twilio's side of a call, as the Api's webhooks see it: incoming_call, and with a recording the voicemail that follows
    /// (Development: webhooks unsigned). Returns the call's id and CallSid.
    /// </summary>
    private async Task<(Guid Id, string Sid)> SimulateCallAsync(HttpClient api, string to, string from, Uri? recording = null)
    {
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        await PostFormAsync(api, "webhook/incoming_call", ("CallSid", callSid), ("From", from), ("To", to), ("AccountSid", fixture.Twilio.AccountSid));
        if (recording is not null)
        {
            // No media stream connects: Twilio ends the <Connect>, the Api answers with the voicemail, the caller records.
            await PostFormAsync(api, "webhook/stream_ended", ("CallSid", callSid), ("AccountSid", fixture.Twilio.AccountSid));
            await PostFormAsync(api, "webhook/handle_recording", ("CallSid", callSid), ("RecordingUrl", recording.ToString()),
                ("RecordingDuration", "2"), ("Digits", "#"), ("AccountSid", fixture.Twilio.AccountSid));
        }
        var businessId = await BusinessIdAsync(api, to);
        var calls = await GetJsonAsync(api, $"api/calls?businessId={businessId}&limit=200");
        return (calls.GetProperty("items").EnumerateArray().Single(c => c.GetProperty("callSid").GetString() == callSid).GetProperty("id").GetGuid(), callSid);
    }

    private static async Task WaitForStoredRecordingAsync(HttpClient api, Guid businessId, Guid callId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var call = await GetJsonAsync(api, $"api/calls/{callId}?businessId={businessId}");
            if (call.GetProperty("recordings").EnumerateArray().Any(r => r.GetProperty("audioPath").ValueKind == JsonValueKind.String))
            {
                return;
            }
            await Task.Delay(500);
        }
        Assert.Fail("the voicemail was not stored within 60 s");
    }

    private async Task InboundWhatsAppAsync(string sender, string from, string body)
    {
        using var api = new HttpClient { BaseAddress = fixture.Api };
        await PostFormAsync(api, "whatsapp/webhook", ("MessageSid", "SM" + Guid.NewGuid().ToString("N")), ("From", $"whatsapp:{from}"),
            ("To", $"whatsapp:{sender}"), ("Body", body), ("NumMedia", "0"), ("AccountSid", fixture.Twilio.AccountSid));
    }

    private static async Task PostFormAsync(HttpClient client, string path, params (string Key, string Value)[] form)
    {
        using var content = new FormUrlEncodedContent(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));
        using var response = await client.PostAsync(new Uri(path, UriKind.Relative), content);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
