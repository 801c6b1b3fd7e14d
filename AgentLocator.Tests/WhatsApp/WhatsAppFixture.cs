using System.Net.Http.Json;
using System.Text.Json;
using AgentLocator.Api;
using AgentLocator.MediaWorker;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.WhatsApp;

/// <summary>
/// An Api in Production (signatures on) on its own database, reachable at its <c>PublicBaseUrl</c>
/// (so the fake Twilio's signed status callbacks really arrive), a fake Twilio REST API, and a
/// storage directory and media secret shared with the MediaWorkers tests start.
/// </summary>
public sealed class WhatsAppFixture : IAsyncLifetime
{
    public const string MediaSecret = "whatsapp-test-media-secret";

    private readonly TcpProxy _port = new("127.0.0.1", targetPort: null);

    public FakeTwilioServer Twilio { get; private set; } = null!;

    public ServiceFactory<ApiEntryPoint> Api { get; private set; } = null!;

    public HttpClient Crm { get; private set; } = null!;

    public TwilioWebhookClient Webhooks { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public string PublicBaseUrl { get; private set; } = "";

    public string StorageDirectory { get; } = Path.Combine(Path.GetTempPath(), "agentlocator-wa-storage-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        Twilio = await FakeTwilioServer.StartAsync();
        ConnectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("whatsapp");
        PublicBaseUrl = $"http://127.0.0.1:{_port.Port}";
        Api = ApiTestHost.Create(ConnectionString, extra: new Dictionary<string, string?>
        {
            ["Twilio:AccountSid"] = Twilio.AccountSid,
            ["Twilio:AuthToken"] = Twilio.AuthToken,
            ["PublicBaseUrl"] = PublicBaseUrl,
            ["Storage:Directory"] = StorageDirectory,
            ["MediaStream:TokenSecret"] = MediaSecret,
        });
        Crm = Api.CreateCrmClient();
        _port.TargetPort = Api.BaseAddress.Port;
        Webhooks = new TwilioWebhookClient(Api.CreateClient(), PublicBaseUrl, Twilio.AuthToken);
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Twilio.DisposeAsync();
        await _port.DisposeAsync();
    }

    /// <summary>A started MediaWorker on the fixture's database, Twilio, storage and secret.</summary>
    public ServiceFactory<MediaWorkerEntryPoint> StartWorker(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["PublicBaseUrl"] = PublicBaseUrl,
            ["Storage:Directory"] = StorageDirectory,
            ["MediaStream:TokenSecret"] = MediaSecret,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var worker = MediaWorkerTestHost.Create(ConnectionString, Twilio.Configuration, extra: settings);
        worker.CreateClient().Dispose();
        return worker;
    }

    public static string NewNumber() => "+9725" + Random.Shared.NextInt64(10_000_000, 99_999_999);

    public static string NewMessageSid() => "SM" + Guid.NewGuid().ToString("N");

    public async Task<TestBusiness> CreateBusinessAsync(string? autoReply = null, bool withWhatsApp = true)
    {
        var whatsApp = withWhatsApp ? NewNumber() : null;
        var notification = NewNumber();
        var phone = NewNumber();
        var response = await Crm.PostAsJsonAsync("/api/businesses", new
        {
            name = "מספרת רחל & בנותיה",
            phoneNumbers = new[] { phone },
            whatsAppNumber = whatsApp,
            notificationPhone = notification,
            whatsAppAutoReply = autoReply,
        });
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        return new TestBusiness(id, whatsApp, notification, phone);
    }

    /// <summary>An inbound WhatsApp message as Twilio posts it, signed.</summary>
    public Task<HttpResponseMessage> PostInboundAsync(string to, string from, string? body, string? messageSid = null,
        IEnumerable<(string Url, string Type)>? media = null, bool sign = true, string? signatureOverride = null)
    {
        var items = media?.ToList() ?? [];
        var sid = messageSid ?? NewMessageSid();
        var form = new List<KeyValuePair<string, string>>
        {
            new("MessageSid", sid),
            new("SmsMessageSid", sid),
            new("AccountSid", Twilio.AccountSid),
            new("From", "whatsapp:" + from),
            new("To", "whatsapp:" + to),
            new("NumMedia", items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("ProfileName", "Dana"),
            new("WaId", from.TrimStart('+')),
            new("SmsStatus", "received"),
            new("ApiVersion", "2010-04-01"),
        };
        if (body is not null)
        {
            form.Add(new("Body", body));
        }
        for (var i = 0; i < items.Count; i++)
        {
            form.Add(new($"MediaUrl{i}", items[i].Url));
            form.Add(new($"MediaContentType{i}", items[i].Type));
        }
        return Webhooks.PostAsync("/whatsapp/webhook", form, sign, signatureOverride);
    }

    /// <summary>The webhook filter answers Twilio safely even when a handler throws: make sure none did.</summary>
    public void AssertNoWebhookErrors() =>
        Assert.DoesNotContain(Api.Logs.Lines, l => l.Contains("WEBHOOK_ERROR", StringComparison.Ordinal));

    public Task<long> CountAsync(string sql, params object?[] args) => Sql.CountAsync(ConnectionString, sql, args);

    public Task<T?> ScalarAsync<T>(string sql, params object?[] args) => Sql.ScalarAsync<T>(ConnectionString, sql, args);
}

public sealed record TestBusiness(Guid Id, string? WhatsAppNumber, string NotificationPhone, string PhoneNumber);
