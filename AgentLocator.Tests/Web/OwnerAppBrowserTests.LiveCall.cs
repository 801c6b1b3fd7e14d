using System.Text.RegularExpressions;
using AgentLocator.Media;
using AgentLocator.Smoke;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Media;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static AgentLocator.Tests.MediaWorker.PipelineAssertions;
using static Microsoft.Playwright.Assertions;

namespace AgentLocator.Tests.Web;

public sealed partial class OwnerAppBrowserTests
{
    private const string LiveCallerNumber = "+972528880022";

    [Fact]
    public async Task ALeadTakenInALiveConversationShowsAsLiveWithTheCallersAnswersOnItsTimeline()
    {
        using var api = NewApiClient();
        var business = await OwnedBusinessAsync(api);
        var owner = business.Owner;
        await owner.GotoAsync($"b/{business.Id}/live");
        await owner.WaitInteractiveAsync();
        await Expect(owner.GetByText("אין כרגע שיחות פעילות")).ToBeVisibleAsync();

        // Twilio's side at line speed: incoming_call's TwiML, then the media stream to the graph's MediaWorker, where the
        // receptionist asks for the caller's name, reason and a time to call back and the caller answers each (espeak-ng Hebrew).
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        var twiml = IncomingCallTwiml.Parse(await PostFormForTextAsync(api, "webhook/incoming_call", ("CallSid", callSid),
            ("From", LiveCallerNumber), ("To", business.Number), ("AccountSid", fixture.Twilio.AccountSid)));
        Assert.True(twiml.HasConnect, "incoming_call did not connect a media stream");
        var media = new UriBuilder(fixture.App.GetEndpoint("mediaworker")) { Scheme = "ws", Path = "/ws/twilio-media" }.Uri;
        await using (var call = await CallSimulator.ConnectAsync(media, new CallSimulatorOptions
        {
            CallSid = callSid,
            AccountSid = fixture.Twilio.AccountSid,
            CustomParameters = new Dictionary<string, string>(twiml.Parameters, StringComparer.Ordinal),
            Speed = 1,
        }))
        {
            await PlayedAsync(call, 1, PromptKeys.AskName);
            // The owner watches it happen: the call is on the live page while the assistant talks with the caller.
            await Expect(owner.Locator("ul.live-calls li").GetByText("העוזרת בשיחה")).ToBeVisibleAsync();
            await AnswersTheIntakeAsync(call);
            Assert.Empty(call.ProtocolViolations);
        }

        // The conversation ended the stream; Twilio asks the <Connect>'s action what next, then reports the call completed.
        await PostFormForTextAsync(api, "webhook/stream_ended", ("CallSid", callSid), ("AccountSid", fixture.Twilio.AccountSid));
        await PostFormAsync(api, "webhook/call_status", ("CallSid", callSid), ("CallStatus", "completed"), ("CallDuration", "25"),
            ("AccountSid", fixture.Twilio.AccountSid));
        await Expect(owner.GetByText("אין כרגע שיחות פעילות")).ToBeVisibleAsync();

        // The lead, marked as taken in the live conversation.
        await owner.GotoAsync($"b/{business.Id}");
        await owner.WaitInteractiveAsync();
        var row = owner.Locator("tr", new() { HasTextString = "052-888-0022" });
        await Expect(row.GetByRole(AriaRole.Cell, new() { Name = "שיחה חיה" })).ToBeVisibleAsync();
        await Expect(row.GetByText("לא נקרא")).ToBeVisibleAsync();
        await owner.CaptureAsync(fixture, "leads-live");

        // The call: answered by the assistant, each of the caller's three answers on the timeline and playable.
        await owner.Locator("a.lead-link", new() { HasTextString = "052-888-0022" }).ClickAsync();
        await owner.WaitForURLAsync(new Regex($"/b/{business.Id}/calls/[0-9a-f-]+$"));
        await owner.WaitInteractiveAsync();
        await Expect(owner.Locator("p.meta")).ToContainTextAsync("שיחה חיה");
        await Expect(owner.GetByText("העוזרת ענתה וברכה את המתקשר")).ToBeVisibleAsync();
        var answers = owner.Locator("ol.timeline li.utterance");
        await Expect(answers).ToHaveCountAsync(3);
        await Expect(owner.GetByText("השיחה הסתיימה")).ToBeVisibleAsync();
        var played = await answers.First.Locator("audio").EvaluateAsync<double>("""
            async a => {
                await a.play();
                const start = Date.now();
                while (!a.error && a.currentTime === 0 && Date.now() - start < 15000) await new Promise(r => setTimeout(r, 100));
                return a.error ? -1 : a.currentTime;
            }
            """);
        Assert.True(played > 0, $"the caller's first answer did not play (currentTime {played})");
        await owner.AssertAccessibleAsync("call-live");
        await owner.CaptureAsync(fixture, "call-live");
    }

    [Fact]
    public async Task ACallThatBeganBeforeTheWebAppStartedIsOnTheLivePageAndLiveEventsMoveItOn()
    {
        using var api = NewApiClient();
        var business = await OwnedBusinessAsync(api);
        await business.Owner.Context.CloseAsync();

        // A call rings; then the web app restarts (a deploy), so it never heard that call begin.
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        await PostFormForTextAsync(api, "webhook/incoming_call", ("CallSid", callSid), ("From", "+972546660044"), ("To", business.Number),
            ("AccountSid", fixture.Twilio.AccountSid));
        await RestartWebAsync();

        // The live page lists it from the Api's calls in progress (ringing, or already sent to voicemail by the stream-start
        // watchdog if the restart took longer than its deadline).
        var callId = (await GetJsonAsync(api, $"api/calls?businessId={business.Id}&inProgress=true")).GetProperty("items").EnumerateArray()
            .Single(c => c.GetProperty("callSid").GetString() == callSid).GetProperty("id").GetGuid();
        var owner = await SignInAsync(business.OwnerEmail, OwnerPassword, new Regex($"/b/{business.Id}$"));
        await owner.GotoAsync($"b/{business.Id}/live");
        await owner.WaitInteractiveAsync();
        var live = owner.Locator("ul.live-calls li");
        await Expect(live).ToHaveCountAsync(1);
        await Expect(live.Locator($"a[href$='/calls/{callId}']")).ToBeVisibleAsync();
        await owner.AssertAccessibleAsync("live-before-start");

        // Live events move it on from there: the stream never came, so voicemail; then Twilio says the call completed.
        await PostFormForTextAsync(api, "webhook/stream_ended", ("CallSid", callSid), ("AccountSid", fixture.Twilio.AccountSid));
        await Expect(live.GetByText("עברה לתא הקולי")).ToBeVisibleAsync();
        await PostFormAsync(api, "webhook/call_status", ("CallSid", callSid), ("CallStatus", "completed"), ("CallDuration", "12"),
            ("AccountSid", fixture.Twilio.AccountSid));
        await Expect(owner.GetByText("אין כרגע שיחות פעילות")).ToBeVisibleAsync();

        // Once ended it is not in progress any more, for the Api either.
        var inProgress = await GetJsonAsync(api, $"api/calls?businessId={business.Id}&inProgress=true");
        Assert.Empty(inProgress.GetProperty("items").EnumerateArray());
    }

    /// <summary>
    /// Restarts the graph's web app and waits until it is healthy again. Under load DCP can report a failed stop (the process
    /// outlived its stop wait); the web app must never stay down for the tests after this one, so a failed restart is retried
    /// as a start once the resource has settled.
    /// </summary>
    private async Task RestartWebAsync()
    {
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var restarted = await commands.ExecuteCommandAsync("web", KnownResourceCommands.RestartCommand).WaitAsync(ResourceTimeout);
        for (var attempt = 1; !restarted.Success && attempt <= 3; attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(2 * attempt));
            restarted = await commands.ExecuteCommandAsync("web", KnownResourceCommands.StartCommand).WaitAsync(ResourceTimeout);
            if (!restarted.Success)
            {
                restarted = await commands.ExecuteCommandAsync("web", KnownResourceCommands.RestartCommand).WaitAsync(ResourceTimeout);
            }
        }

        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("web").WaitAsync(ResourceTimeout);
        Assert.True(restarted.Success, $"the web app did not restart: {restarted.Message}");
    }

    private static async Task<string> PostFormForTextAsync(HttpClient client, string path, params (string Key, string Value)[] form)
    {
        using var content = new FormUrlEncodedContent(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));
        using var response = await client.PostAsync(new Uri(path, UriKind.Relative), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return body;
    }
}
