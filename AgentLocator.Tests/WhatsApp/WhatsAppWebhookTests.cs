using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;

namespace AgentLocator.Tests.WhatsApp;

/// <summary>Inbound WhatsApp messages and delivery statuses as Twilio posts them.</summary>
public sealed class WhatsAppWebhookTests(WhatsAppFixture fixture) : IClassFixture<WhatsAppFixture>
{
    private static async Task<XElement> TwimlAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/xml", response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
        var root = XElement.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Response", root.Name.LocalName);
        return root;
    }

    [Fact]
    public async Task InboundMessageIsStoredWithItsMediaAndUpsertsTheCustomerByWaId()
    {
        var business = await fixture.CreateBusinessAsync();
        var customer = WhatsAppFixture.NewNumber();
        var sid = WhatsAppFixture.NewMessageSid();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var response = await fixture.PostInboundAsync(business.WhatsAppNumber!, customer, "שלום, אפשר לקבוע תור?", sid,
            [("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg"),
             ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", "audio/ogg")]);

        var twiml = await TwimlAsync(response);
        Assert.Empty(twiml.Elements());
        Assert.Contains("no-cache", response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        Assert.Equal(1, await fixture.CountAsync("""
            SELECT count(*) FROM messages m JOIN customers c ON c.id = m.customer_id
            WHERE m.message_sid = $1 AND m.business_id = $2 AND m.direction = 'inbound' AND m.status = 'received'
              AND m.body = 'שלום, אפשר לקבוע תור?' AND m."from" = $3 AND m."to" = $4
              AND m.media_urls[2] LIKE '%/ME2' AND m.media_content_types = ARRAY['image/jpeg', 'audio/ogg']
              AND c.phone = $5 AND c.wa_id = $6 AND c.source = 'whatsapp' AND c.name = 'Dana' AND c.last_inbound_message_at >= $7
            """, sid, business.Id, "whatsapp:" + customer, "whatsapp:" + business.WhatsAppNumber, customer, customer.TrimStart('+'), before));
    }

    [Fact]
    public async Task AnExistingCallerBecomesTheSameCustomerAndTheirLastInboundTimeMovesForward()
    {
        var business = await fixture.CreateBusinessAsync();
        var phone = WhatsAppFixture.NewNumber();
        var created = await fixture.Crm.PostAsJsonAsync($"/api/businesses/{business.Id}/customers", new { name = "Moshe", phone });
        created.EnsureSuccessStatusCode();
        var customerId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        await TwimlAsync(await fixture.PostInboundAsync(business.WhatsAppNumber!, phone, "first"));
        var first = await fixture.ScalarAsync<DateTime>("SELECT last_inbound_message_at FROM customers WHERE id = $1", customerId);
        await TwimlAsync(await fixture.PostInboundAsync(business.WhatsAppNumber!, phone, "second"));
        var second = await fixture.ScalarAsync<DateTime>("SELECT last_inbound_message_at FROM customers WHERE id = $1", customerId);

        Assert.True(second > first);
        Assert.Equal(1, await fixture.CountAsync("SELECT count(*) FROM customers WHERE business_id = $1", business.Id));
        Assert.Equal("Moshe", await fixture.ScalarAsync<string>("SELECT name FROM customers WHERE id = $1", customerId));
        Assert.Equal(2, await fixture.CountAsync("SELECT count(*) FROM messages WHERE customer_id = $1", customerId));
    }

    [Fact]
    public async Task TheBusinessAutoReplyIsAnsweredAsHebrewTwimlMessageAndKeptInTheConversation()
    {
        var reply = "תודה שכתבת לנו! נחזור אליך בהקדם <3 & יום טוב";
        var business = await fixture.CreateBusinessAsync(autoReply: reply);
        var customer = WhatsAppFixture.NewNumber();

        var twiml = await TwimlAsync(await fixture.PostInboundAsync(business.WhatsAppNumber!, customer, "היי"));

        Assert.Equal(reply, Assert.Single(twiml.Elements("Message")).Value);
        Assert.Equal(1, await fixture.CountAsync("""
            SELECT count(*) FROM messages WHERE business_id = $1 AND direction = 'outbound' AND purpose = 'auto_reply'
              AND body = $2 AND "to" = $3 AND "from" = $4
            """, business.Id, reply, "whatsapp:" + customer, "whatsapp:" + business.WhatsAppNumber));
    }

    [Fact]
    public async Task ARepeatedMessageSidIsStoredOnce()
    {
        var business = await fixture.CreateBusinessAsync(autoReply: "קיבלנו");
        var sid = WhatsAppFixture.NewMessageSid();
        var customer = WhatsAppFixture.NewNumber();

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => fixture.PostInboundAsync(business.WhatsAppNumber!, customer, "כפול", sid)));

        foreach (var response in responses)
        {
            await TwimlAsync(response);
        }
        Assert.Equal(1, await fixture.CountAsync("SELECT count(*) FROM messages WHERE message_sid = $1", sid));
        Assert.Equal(1, await fixture.CountAsync("SELECT count(*) FROM messages WHERE business_id = $1 AND purpose = 'auto_reply'", business.Id));
        Assert.Equal(1, await fixture.CountAsync("SELECT count(*) FROM customers WHERE business_id = $1", business.Id));
        fixture.AssertNoWebhookErrors();
    }

    [Fact]
    public async Task AMessageToANumberNoBusinessOwnsIsAcknowledgedAndNothingIsStored()
    {
        var sid = WhatsAppFixture.NewMessageSid();
        var unknown = WhatsAppFixture.NewNumber();

        var twiml = await TwimlAsync(await fixture.PostInboundAsync(unknown, WhatsAppFixture.NewNumber(), "hello?", sid));

        Assert.Empty(twiml.Elements());
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM messages WHERE message_sid = $1", sid));
        Assert.True(fixture.Api.Logs.Contains("WHATSAPP_UNKNOWN_SENDER " + sid));
        Assert.False(fixture.Api.Logs.Contains(unknown), "the sender number must be redacted in logs");
    }

    [Fact]
    public async Task AForgedOrMissingSignatureIsForbiddenAndNothingIsStored()
    {
        var business = await fixture.CreateBusinessAsync();
        var sid = WhatsAppFixture.NewMessageSid();

        var forged = await fixture.PostInboundAsync(business.WhatsAppNumber!, WhatsAppFixture.NewNumber(), "x", sid, signatureOverride: "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==");
        var unsigned = await fixture.PostInboundAsync(business.WhatsAppNumber!, WhatsAppFixture.NewNumber(), "x", sid, sign: false);
        var forgedStatus = await fixture.Webhooks.PostAsync("/whatsapp/status",
            [new("MessageSid", sid), new("MessageStatus", "delivered")], signatureOverride: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");

        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forgedStatus.StatusCode);
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM messages WHERE business_id = $1", business.Id));
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM customers WHERE business_id = $1", business.Id));
    }

    [Fact]
    public async Task AWebhookWithoutMessageSidOrSenderIsABadRequest()
    {
        var business = await fixture.CreateBusinessAsync();

        var noSid = await fixture.Webhooks.PostAsync("/whatsapp/webhook", ("From", "whatsapp:+972501112233"), ("To", "whatsapp:" + business.WhatsAppNumber), ("Body", "x"));
        var noFrom = await fixture.Webhooks.PostAsync("/whatsapp/webhook", ("MessageSid", WhatsAppFixture.NewMessageSid()), ("To", "whatsapp:" + business.WhatsAppNumber));
        var noStatus = await fixture.Webhooks.PostAsync("/whatsapp/status", ("MessageSid", WhatsAppFixture.NewMessageSid()));

        Assert.Equal(HttpStatusCode.BadRequest, noSid.StatusCode);
        Assert.Contains("MessageSid", await noSid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noFrom.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noStatus.StatusCode);
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM messages WHERE business_id = $1", business.Id));
    }

    [Fact]
    public async Task AStatusForAnUnknownMessageSidIsAcknowledgedAndChangesNothing()
    {
        var business = await fixture.CreateBusinessAsync();
        var sid = WhatsAppFixture.NewMessageSid();
        await TwimlAsync(await fixture.PostInboundAsync(business.WhatsAppNumber!, WhatsAppFixture.NewNumber(), "hi", sid));

        var unknown = await fixture.Webhooks.PostAsync("/whatsapp/status", ("MessageSid", WhatsAppFixture.NewMessageSid()), ("MessageStatus", "delivered"));
        // An inbound message's SID is not ours to move either.
        var inbound = await fixture.Webhooks.PostAsync("/whatsapp/status", ("MessageSid", sid), ("MessageStatus", "failed"), ("ErrorCode", "30008"));

        Assert.Equal(HttpStatusCode.NoContent, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, inbound.StatusCode);
        Assert.Equal("received", await fixture.ScalarAsync<string>("SELECT status FROM messages WHERE message_sid = $1", sid));
        fixture.AssertNoWebhookErrors();
    }
}
