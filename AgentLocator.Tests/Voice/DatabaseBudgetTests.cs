using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Xml.Linq;
using AgentLocator.Tests.Infrastructure;
using Npgsql;

namespace AgentLocator.Tests.Voice;

/// <summary>A database that answers too slowly (a lock held elsewhere) costs the caller nothing but the budget.</summary>
public sealed class DatabaseBudgetTests
{
    [Fact]
    public async Task ABlockedDatabaseStillGetsTheGreetingAndStreamWithinTheBudget()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("budget");
        await using var api = ApiTestHost.Create(database, extra: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = VoiceWebhookFixture.AuthToken,
            ["PublicBaseUrl"] = VoiceWebhookFixture.PublicBaseUrl,
            ["Voice:DirectoryCacheTtl"] = "00:00:00",
            ["Voice:DatabaseBudget"] = "00:00:00.300",
        });
        var number = "+9726" + Random.Shared.Next(1_000_000, 9_999_999);
        (await api.CreateCrmClient().PostAsJsonAsync("/api/businesses", new { name = "Budget", phoneNumbers = new[] { number } })).EnsureSuccessStatusCode();
        var twilio = new TwilioWebhookClient(api.CreateClient(), VoiceWebhookFixture.PublicBaseUrl, VoiceWebhookFixture.AuthToken);

        // Another session holds the number table: every lookup waits on the lock until its budget ends.
        await using var blocker = new NpgsqlConnection(database);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("LOCK TABLE business_phone_numbers IN ACCESS EXCLUSIVE MODE", blocker, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        var callSid = VoiceWebhookFixture.NewCallSid();
        var timer = Stopwatch.StartNew();
        var response = await twilio.PostAsync("/webhook/incoming_call", ("CallSid", callSid), ("From", "+972527770000"), ("To", number));
        var elapsed = timer.ElapsedMilliseconds;
        await transaction.RollbackAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var twiml = XDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.EndsWith("/greeting_he.mp3", twiml.Root!.Element("Play")!.Value);
        Assert.NotNull(twiml.Root!.Element("Connect")?.Element("Stream"));
        Assert.InRange(elapsed, 0, 2000);
        Assert.True(api.Logs.Contains("WEBHOOK_ERROR incoming_call answered without the database; call to rebuild: CallSid=" + callSid));
        Assert.True(await Sql.EventuallyAsync(async () =>
            await Sql.CountAsync(database, "SELECT count(*) FROM calls WHERE call_sid = $1", callSid) == 1, TimeSpan.FromSeconds(20)),
            "the call was not written once the lock was gone");
    }
}
