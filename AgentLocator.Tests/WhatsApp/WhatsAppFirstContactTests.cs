using AgentLocator.Api.WhatsApp;
using AgentLocator.Data.Model;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Tests.WhatsApp;

/// <summary>
/// A new sender's messages posted side by side (Twilio does not wait for one webhook before the next) are stored in
/// whichever order their transactions commit: the customer's first contact is still their earliest message, as their
/// last contact and last inbound message are their latest.
/// </summary>
public sealed class WhatsAppFirstContactTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    public async Task InitializeAsync() => await TestDbContexts.MigrateAsync(database.ConnectionString);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task ANewSendersMessagesStoredOutOfOrderKeepTheEarliestAsTheFirstContact()
    {
        await using var db = TestDbContexts.Create(database.ConnectionString);
        var business = new Business { Name = "first contact", WhatsAppNumber = "+97233" + Random.Shared.Next(100_000, 999_999) };
        db.Businesses.Add(business);
        await db.SaveChangesAsync();
        var sender = new WhatsAppSender(business.Id, Active: true, AutoReply: null);
        var phone = WhatsAppFixture.NewNumber();
        var first = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600);

        // The second message's transaction commits first, then the first message's.
        await new WhatsAppStore(db).StoreInboundAsync(Inbound(phone, business.WhatsAppNumber, first.AddSeconds(1)), sender, CancellationToken.None);
        await new WhatsAppStore(db).StoreInboundAsync(Inbound(phone, business.WhatsAppNumber, first), sender, CancellationToken.None);

        var customer = await db.Customers.AsNoTracking().SingleAsync(c => c.BusinessId == business.Id);
        Assert.Equal((first, first.AddSeconds(1), first.AddSeconds(1)), (customer.FirstContactAt, customer.LastContactAt, customer.LastInboundMessageAt));
    }

    private static InboundWhatsAppMessage Inbound(string phone, string to, DateTimeOffset receivedAt) =>
        new("SM" + Guid.NewGuid().ToString("N"), "whatsapp:" + phone, "whatsapp:" + to, "שלום", phone.TrimStart('+'), "Dana", [], [], receivedAt);
}
