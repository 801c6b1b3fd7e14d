using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using AgentLocator.Tests.Infrastructure;
using Npgsql;

namespace AgentLocator.Tests.WhatsApp;

/// <summary>Postgres goes away: inbound WhatsApp messages are still acknowledged at once and stored when it returns.</summary>
public sealed class WhatsAppDatabaseOutageTests
{
    private const string AuthToken = "whatsapp-outage-auth-token";
    private const string PublicBaseUrl = "https://wa-outage.agentlocator.test";

    [Fact]
    public async Task WithTheDatabaseGoneAnInboundMessageIsAcknowledgedAndStoredWhenItReturns()
    {
        var direct = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("wa_outage");
        var target = new NpgsqlConnectionStringBuilder(direct);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(direct) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        await using var api = ApiTestHost.Create(viaProxy, extra: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = AuthToken,
            ["PublicBaseUrl"] = PublicBaseUrl,
        });
        var sender = WhatsAppFixture.NewNumber();
        var created = await api.CreateCrmClient().PostAsJsonAsync("/api/businesses", new { name = "Outage Ltd", phoneNumbers = new[] { WhatsAppFixture.NewNumber() }, whatsAppNumber = sender });
        created.EnsureSuccessStatusCode();
        var businessId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var twilio = new TwilioWebhookClient(api.CreateClient(), PublicBaseUrl, AuthToken);
        var sid = WhatsAppFixture.NewMessageSid();

        proxy.Cut();
        var timer = Stopwatch.StartNew();
        var response = await twilio.PostAsync("/whatsapp/webhook", ("MessageSid", sid), ("From", "whatsapp:+972527776655"),
            ("To", "whatsapp:" + sender), ("Body", "אתם פתוחים היום?"), ("NumMedia", "0"), ("WaId", "972527776655"));
        var elapsed = timer.ElapsedMilliseconds;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(XElement.Parse(await response.Content.ReadAsStringAsync()).Elements());
        Assert.InRange(elapsed, 0, 3000);
        Assert.True(api.Logs.Contains("WEBHOOK_ERROR_DEFERRED whatsapp " + sid));

        proxy.Restore();
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(direct, """
            SELECT count(*) FROM messages m JOIN customers c ON c.id = m.customer_id
            WHERE m.message_sid = $1 AND m.business_id = $2 AND c.phone = '+972527776655' AND c.last_inbound_message_at IS NOT NULL
            """, sid, businessId) == 1, TimeSpan.FromSeconds(30)), "the deferred message was not stored after the database came back");
    }
}
