using System.Net.Http.Json;
using System.Text.Json;
using AgentLocator.Api;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Voice;

/// <summary>An Api in Production (signatures on) with its own database and one business.</summary>
public sealed class VoiceWebhookFixture : IAsyncLifetime
{
    public const string AuthToken = "voice-test-auth-token";
    public const string PublicBaseUrl = "https://Voice.AgentLocator.test";

    public ServiceFactory<ApiEntryPoint> Api { get; private set; } = null!;

    public TwilioWebhookClient Twilio { get; private set; } = null!;

    public HttpClient Crm { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public Guid BusinessId { get; private set; }

    public string BusinessNumber { get; } = "+9723" + Random.Shared.Next(1_000_000, 9_999_999);

    public async Task InitializeAsync()
    {
        ConnectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("voice");
        Api = ApiTestHost.Create(ConnectionString, extra: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = AuthToken,
            ["PublicBaseUrl"] = PublicBaseUrl,
            ["Voice:DirectoryCacheTtl"] = "00:00:00",
        });
        Crm = Api.CreateCrmClient();
        Twilio = new TwilioWebhookClient(Api.CreateClient(), PublicBaseUrl, AuthToken);
        var response = await Crm.PostAsJsonAsync("/api/businesses", new { name = "Cohen & Sons \"Ltd\" <TLV>", phoneNumbers = new[] { BusinessNumber }, maxRecordingSeconds = 90 });
        response.EnsureSuccessStatusCode();
        BusinessId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    public async Task DisposeAsync() => await Api.DisposeAsync();

    public static string NewCallSid() => "CA" + Guid.NewGuid().ToString("N");
}
