using AgentLocator.Tests.AppHost;
using AgentLocator.Tests.Graph;
using AgentLocator.Tests.Infrastructure;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Playwright;

namespace AgentLocator.Tests.Web;

/// <summary>
/// The whole graph (Development) with the web app's first administrator configured, Twilio's REST API a local fake, and
/// Debian's chromium driven by Playwright (its own browser download does not work here).
/// </summary>
public sealed class WebGraphFixture : IAsyncLifetime
{
    public const string AdminEmail = "admin@agentlocator.test";
    public const string AdminPassword = "Admin-Passw0rd-for-tests";
    public const string ChromiumPath = "/usr/bin/chromium";

    public DistributedApplication App { get; private set; } = null!;

    public FakeTwilioServer Twilio { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the screenshots of each page go (kept after the run: the test's artifacts).</summary>
    public string ArtifactsDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "artifacts", "web");

    public Uri Web => App.GetEndpoint("web");

    public Uri Api => App.GetEndpoint("api");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ArtifactsDirectory);
        Twilio = await FakeTwilioServer.StartAsync();
        var settings = new Dictionary<string, string?>(GraphSmoke.ApiSettings)
        {
            ["AppHost:Environment"] = "Development",
            ["AppHost:Resources:api:Env:Crm__ApiKeys__0"] = GraphSmoke.ApiKey,
            ["AppHost:Resources:web:Env:Web__AdminEmail"] = AdminEmail,
            ["AppHost:Resources:web:Env:Web__AdminPassword"] = AdminPassword,
        };
        foreach (var service in new[] { "api", "mediaworker" })
        {
            settings[$"AppHost:Resources:{service}:Env:Twilio__AccountSid"] = Twilio.AccountSid;
            settings[$"AppHost:Resources:{service}:Env:Twilio__AuthToken"] = Twilio.AuthToken;
            settings[$"AppHost:Resources:{service}:Env:Twilio__ApiBaseUrl"] = Twilio.BaseUrl.ToString();
        }
        App = await AgentLocatorGraph.StartAsync(settings);

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // The recording is played by the test, not by a person's click.
            Args = ["--autoplay-policy=no-user-gesture-required"],
        });
    }

    /// <summary>A fresh browser (no cookies) the size of a phone, in Hebrew.</summary>
    public async Task<IPage> NewPhonePageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Web.ToString(),
            Locale = "he-IL",
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        Playwright?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }
        if (Twilio is not null)
        {
            await Twilio.DisposeAsync();
        }
    }
}
