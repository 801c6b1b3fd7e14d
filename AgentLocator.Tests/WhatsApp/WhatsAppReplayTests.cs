using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentLocator.Api;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AgentLocator.Tests.WhatsApp;

/// <summary>
/// The inbound WhatsApp write runs under the retrying execution strategy, which replays the whole transaction after a
/// transient failure: the replay must store the message and its auto-reply once, as if the first try never happened.
/// The connection drop is injected at one statement (the one after the inbound row) on a real Postgres.
/// </summary>
public sealed class WhatsAppReplayTests : IAsyncLifetime
{
    private const string PublicBaseUrl = "https://agentlocator.test";
    private const string AuthToken = "whatsapp-replay-auth-token";
    private readonly DropSecondMessageInsert _drop = new();
    private ServiceFactory<ApiEntryPoint> _api = null!;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("whatsapp_replay");
        _api = new ServiceFactory<ApiEntryPoint>("Production", new Dictionary<string, string?>
        {
            ["ConnectionStrings:agentlocator"] = _connectionString,
            ["Crm:ApiKeys:0"] = ApiTestHost.ApiKey,
            ["Twilio:AccountSid"] = "AC00000000000000000000000000000000",
            ["Twilio:AuthToken"] = AuthToken,
            ["PublicBaseUrl"] = PublicBaseUrl,
        }, services => services.ConfigureDbContext<AgentLocatorDbContext>(options => options.AddInterceptors(_drop)));
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task AConnectionDropAfterTheInboundRowIsReplayedIntoOneMessageAndOneAutoReply()
    {
        using var crm = _api.CreateCrmClient();
        var whatsApp = WhatsAppFixture.NewNumber();
        using var created = await crm.PostAsJsonAsync("/api/businesses", new
        {
            name = "Replay Ltd",
            phoneNumbers = new[] { WhatsAppFixture.NewNumber() },
            whatsAppNumber = whatsApp,
            notificationPhone = WhatsAppFixture.NewNumber(),
            whatsAppAutoReply = "קיבלנו, נחזור אליך",
        });
        created.EnsureSuccessStatusCode();
        var businessId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var twilio = new TwilioWebhookClient(_api.CreateClient(), PublicBaseUrl, AuthToken);
        var sid = WhatsAppFixture.NewMessageSid();
        var customer = WhatsAppFixture.NewNumber();

        _drop.Arm();
        using var response = await twilio.PostAsync("/whatsapp/webhook", ("MessageSid", sid), ("AccountSid", "AC00000000000000000000000000000000"),
            ("From", "whatsapp:" + customer), ("To", "whatsapp:" + whatsApp), ("Body", "שלום"), ("NumMedia", "0"), ("WaId", customer.TrimStart('+')));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(_drop.Dropped, "the injected connection drop never happened: the test proves nothing");
        var log = string.Join("\n", _api.Logs.Lines.Where(l => l.Contains("Exception", StringComparison.Ordinal)));
        Assert.True(1 == await Sql.CountAsync(_connectionString, "SELECT count(*) FROM messages WHERE message_sid = $1", sid), log);
        Assert.Equal(1, await Sql.CountAsync(_connectionString,
            "SELECT count(*) FROM messages WHERE business_id = $1 AND purpose = 'auto_reply'", businessId));
        Assert.Equal(1, await Sql.CountAsync(_connectionString, "SELECT count(*) FROM customers WHERE business_id = $1", businessId));
        Assert.Contains(_api.Logs.Lines, l => l.Contains($"WHATSAPP_INBOUND {sid}", StringComparison.Ordinal) && l.Contains("(new: True)", StringComparison.Ordinal));
    }

    /// <summary>Once armed, the second statement of a request that writes to <c>messages</c> fails as a dropped connection does.</summary>
    private sealed class DropSecondMessageInsert : DbCommandInterceptor
    {
        private int _armed;
        private int _seen;

        public bool Dropped { get; private set; }

        public void Arm()
        {
            _seen = 0;
            Volatile.Write(ref _armed, 1);
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            MaybeDrop(command);
            return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            MaybeDrop(command);
            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }

        private void MaybeDrop(DbCommand command)
        {
            if (Volatile.Read(ref _armed) == 1 && command.CommandText.Contains("INSERT INTO messages", StringComparison.Ordinal)
                && Interlocked.Increment(ref _seen) == 2)
            {
                Volatile.Write(ref _armed, 0);
                Dropped = true;
                throw new NpgsqlException("Exception while reading from stream", new IOException("Connection reset by peer"));
            }
        }
    }
}
