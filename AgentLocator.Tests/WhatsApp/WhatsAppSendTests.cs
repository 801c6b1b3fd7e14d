using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.WhatsApp;

/// <summary>Sending from the CRM: validation, the 24-hour rule, the durable job, Twilio's answers and statuses.</summary>
/// <remarks>
/// The tests share one jobs table, and a worker takes any due job, not only its own test's. A job a
/// test leaves unfinished (queued and never worked, or handed back when its worker stopped) would be
/// worked by the next test's worker and could take that test's injected Twilio failure. So every
/// test leaves the queue empty (<see cref="DisposeAsync"/>), whatever order the tests run in.
/// </remarks>
public sealed class WhatsAppSendTests(WhatsAppFixture fixture) : IClassFixture<WhatsAppFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const string TemplateSid = "HX0123456789abcdef0123456789abcdef";
    private const string UnfinishedJobs = "SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')";

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Works off whatever jobs the test left unfinished, so the next test's worker only finds its own.</summary>
    public async Task DisposeAsync()
    {
        if (await fixture.CountAsync(UnfinishedJobs) == 0)
        {
            return;
        }
        await using var worker = fixture.StartWorker();
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.CountAsync(UnfinishedJobs) == 0, Timeout),
            "jobs this test left were still unfinished after " + Timeout + ": " + await fixture.CountAsync(UnfinishedJobs));
    }

    private async Task<(TestBusiness Business, string Customer)> CustomerWhoWroteAsync()
    {
        var business = await fixture.CreateBusinessAsync();
        var customer = WhatsAppFixture.NewNumber();
        (await fixture.PostInboundAsync(business.WhatsAppNumber!, customer, "היי, יש לכם תור מחר?")).EnsureSuccessStatusCode();
        return (business, customer);
    }

    private async Task<Guid> SendAcceptedAsync(object request)
    {
        var response = await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send", request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("pending", body.GetProperty("status").GetString());
        return body.GetProperty("id").GetGuid();
    }

    private async Task<string> WaitForSidAsync(Guid messageId)
    {
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.CountAsync(
            "SELECT count(*) FROM messages WHERE id = $1 AND message_sid IS NOT NULL", messageId) == 1, Timeout), "the message was not sent");
        return (await fixture.ScalarAsync<string>("SELECT message_sid FROM messages WHERE id = $1", messageId))!;
    }

    private async Task<(string Status, int Attempts)> WaitForJobAsync(Guid messageId, params string[] statuses)
    {
        Assert.True(await Sql.EventuallyAsync(async () =>
        {
            var status = await fixture.ScalarAsync<string>("SELECT status FROM jobs WHERE payload->>'messageId' = $1", messageId.ToString());
            return Array.IndexOf(statuses, status) >= 0;
        }, Timeout), "the job did not finish");
        return ((await fixture.ScalarAsync<string>("SELECT status FROM jobs WHERE payload->>'messageId' = $1", messageId.ToString()))!,
            await fixture.ScalarAsync<int>("SELECT attempts FROM jobs WHERE payload->>'messageId' = $1", messageId.ToString()));
    }

    private int RequestsTo(string customer) => fixture.Twilio.Requests.Count(r =>
        r.Path.EndsWith("/Messages.json", StringComparison.Ordinal) && r.FormValue("To") == "whatsapp:" + customer);

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task MissingFieldsAreAProblemNamingEachField()
    {
        var problem = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send", new { }), HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("businessId", out _));
        Assert.True(errors.TryGetProperty("to", out _));
        Assert.True(errors.TryGetProperty("body", out _));
    }

    [Fact]
    public async Task BadValuesAreAProblemNamingEachFieldAndNothingIsWritten()
    {
        var (business, customer) = await CustomerWhoWroteAsync();

        var huge = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send",
            new { businessId = business.Id, to = customer, body = new string('א', 1601), mediaUrl = "ftp://x/y.png" }), HttpStatusCode.BadRequest);
        var badNumber = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send",
            new { businessId = business.Id, to = "not a number", body = "hi" }), HttpStatusCode.BadRequest);
        var badTemplate = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send",
            new { businessId = business.Id, to = customer, body = "both", contentSid = "HXnope", contentVariables = new[] { 1, 2 } }), HttpStatusCode.BadRequest);

        Assert.Contains("1600", huge.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);
        Assert.True(huge.GetProperty("errors").TryGetProperty("mediaUrl", out _));
        Assert.True(badNumber.GetProperty("errors").TryGetProperty("to", out _));
        var templateErrors = badTemplate.GetProperty("errors");
        Assert.True(templateErrors.TryGetProperty("contentSid", out _));
        Assert.True(templateErrors.TryGetProperty("body", out _));
        Assert.True(templateErrors.TryGetProperty("contentVariables", out _));
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM messages WHERE business_id = $1 AND direction = 'outbound'", business.Id));
    }

    [Fact]
    public async Task AnUnknownBusinessIsNotFoundAndABusinessWithoutASenderIsRefused()
    {
        var unknown = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send",
            new { businessId = Guid.NewGuid(), to = WhatsAppFixture.NewNumber(), body = "hi" }), HttpStatusCode.NotFound);
        var noSender = await fixture.CreateBusinessAsync(withWhatsApp: false);
        var refused = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send",
            new { businessId = noSender.Id, to = WhatsAppFixture.NewNumber(), contentSid = TemplateSid }), HttpStatusCode.UnprocessableEntity);

        Assert.Equal("Business not found", unknown.GetProperty("title").GetString());
        Assert.Contains("whatsAppNumber", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAnApiKeySendingIsUnauthorized()
    {
        using var anonymous = fixture.Api.CreateClient();
        var response = await anonymous.PostAsJsonAsync("/api/whatsapp/send", new { businessId = Guid.NewGuid(), to = WhatsAppFixture.NewNumber(), body = "hi" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task FreeFormToACustomerWhoNeverWroteOrWroteOver24HoursAgoIsRefusedAskingForATemplate()
    {
        var business = await fixture.CreateBusinessAsync();
        var stranger = WhatsAppFixture.NewNumber();
        var (old, oldCustomer) = await CustomerWhoWroteAsync();
        await fixture.ScalarAsync<int>("UPDATE customers SET last_inbound_message_at = now() - interval '25 hours' WHERE business_id = $1", old.Id);

        var never = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send",
            new { businessId = business.Id, to = stranger, body = "שלום" }), HttpStatusCode.UnprocessableEntity);
        var expired = await ProblemAsync(await fixture.Crm.PostAsJsonAsync("/api/whatsapp/send",
            new { businessId = old.Id, to = oldCustomer, body = "שלום" }), HttpStatusCode.UnprocessableEntity);

        Assert.Contains("template", never.GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Contains("contentSid", never.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("never written", never.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("more than 24 hours ago", expired.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(expired.GetProperty("templateRequired").GetBoolean());
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM messages WHERE business_id IN ($1, $2) AND direction = 'outbound'", business.Id, old.Id));
        Assert.Equal(0, await fixture.CountAsync("SELECT count(*) FROM customers WHERE business_id = $1", business.Id));
    }

    [Fact]
    public async Task AFreeFormMessageIsSentThroughTwilioAndItsStatusesOnlyMoveForward()
    {
        var (business, customer) = await CustomerWhoWroteAsync();
        var id = await SendAcceptedAsync(new { businessId = business.Id, to = customer, body = "כן, מחר ב-10:00 מתאים?", mediaUrl = "https://example.com/menu.png" });
        await using var worker = fixture.StartWorker();

        var sid = await WaitForSidAsync(id);
        var sent = Assert.Single(fixture.Twilio.Messages, m => m.Sid == sid);
        Assert.Equal("whatsapp:" + customer, sent.To);
        Assert.Equal("whatsapp:" + business.WhatsAppNumber, sent.From);
        Assert.Equal("כן, מחר ב-10:00 מתאים?", sent.Body);
        Assert.Equal(["https://example.com/menu.png"], sent.MediaUrls);
        Assert.Equal(fixture.PublicBaseUrl + "/whatsapp/status", sent.StatusCallback);
        Assert.Equal("queued", await fixture.ScalarAsync<string>("SELECT status FROM messages WHERE id = $1", id));

        Assert.Equal(HttpStatusCode.NoContent, await fixture.Twilio.SendMessageStatusAsync(sid, "delivered"));
        Assert.Equal(HttpStatusCode.NoContent, await fixture.Twilio.SendMessageStatusAsync(sid, "sent"));
        Assert.Equal(HttpStatusCode.NoContent, await fixture.Twilio.SendMessageStatusAsync(sid, "queued"));
        fixture.AssertNoWebhookErrors();
        Assert.Equal("delivered", await fixture.ScalarAsync<string>("SELECT status FROM messages WHERE id = $1", id));
        Assert.Equal(HttpStatusCode.NoContent, await fixture.Twilio.SendMessageStatusAsync(sid, "read"));
        Assert.Equal(HttpStatusCode.NoContent, await fixture.Twilio.SendMessageStatusAsync(sid, "delivered"));
        Assert.Equal("read", await fixture.ScalarAsync<string>("SELECT status FROM messages WHERE id = $1", id));
        Assert.Equal(("succeeded", 1), await WaitForJobAsync(id, "succeeded"));
    }

    [Fact]
    public async Task AnUndeliveredStatusRecordsTwiliosErrorCode()
    {
        var (business, customer) = await CustomerWhoWroteAsync();
        var id = await SendAcceptedAsync(new { businessId = business.Id, to = customer, body = "ping" });
        await using var worker = fixture.StartWorker();
        var sid = await WaitForSidAsync(id);

        Assert.Equal(HttpStatusCode.NoContent, await fixture.Twilio.SendMessageStatusAsync(sid, "sent"));
        Assert.Equal(HttpStatusCode.NoContent, await fixture.Twilio.SendMessageStatusAsync(sid, "undelivered", 63024));

        Assert.Equal("undelivered", await fixture.ScalarAsync<string>("SELECT status FROM messages WHERE id = $1", id));
        Assert.Equal("63024", await fixture.ScalarAsync<string>("SELECT error_code FROM messages WHERE id = $1", id));
        fixture.AssertNoWebhookErrors();
    }

    [Fact]
    public async Task ATemplateGoesToACustomerWhoNeverWrote()
    {
        var business = await fixture.CreateBusinessAsync();
        var stranger = "0" + WhatsAppFixture.NewNumber()[4..];
        var id = await SendAcceptedAsync(new { businessId = business.Id, to = stranger, contentSid = TemplateSid, contentVariables = new { _1 = "רחל", _2 = 10 } });
        await using var worker = fixture.StartWorker();

        var sid = await WaitForSidAsync(id);
        var sent = Assert.Single(fixture.Twilio.Messages, m => m.Sid == sid);
        Assert.Equal("whatsapp:+972" + stranger[1..], sent.To);
        Assert.Equal(TemplateSid, sent.ContentSid);
        Assert.Null(sent.Body);
        var variables = JsonDocument.Parse(sent.ContentVariables!).RootElement;
        Assert.Equal("רחל", variables.GetProperty("_1").GetString());
        Assert.Equal("10", variables.GetProperty("_2").GetString());
        Assert.Contains("רחל", await fixture.ScalarAsync<string>("SELECT content_variables FROM messages WHERE id = $1", id), StringComparison.Ordinal);
        Assert.Equal(1, await fixture.CountAsync("SELECT count(*) FROM customers WHERE business_id = $1 AND phone = $2", business.Id, "+972" + stranger[1..]));
    }

    [Theory]
    [InlineData(63016)]
    [InlineData(21211)]
    public async Task APermanentTwilioRefusalIsRecordedAsFailedAndNotRetried(int code)
    {
        var (business, customer) = await CustomerWhoWroteAsync();
        fixture.Twilio.FailNext(1, code == 63016 ? FakeTwilioFailure.WhatsAppOutsideWindow() : FakeTwilioFailure.InvalidToNumber(), "Messages.json");
        var id = await SendAcceptedAsync(new { businessId = business.Id, to = customer, body = "hello" });
        await using var worker = fixture.StartWorker();

        Assert.Equal(("dead", 1), await WaitForJobAsync(id, "dead", "succeeded"));
        Assert.Equal("failed", await fixture.ScalarAsync<string>("SELECT status FROM messages WHERE id = $1", id));
        Assert.Equal(code.ToString(System.Globalization.CultureInfo.InvariantCulture), await fixture.ScalarAsync<string>("SELECT error_code FROM messages WHERE id = $1", id));
        Assert.NotNull(await fixture.ScalarAsync<string>("SELECT error_message FROM messages WHERE id = $1", id));
        await Task.Delay(300);
        Assert.Equal(1, RequestsTo(customer));
        Assert.DoesNotContain(fixture.Twilio.Messages, m => m.To == "whatsapp:" + customer);
    }

    [Fact]
    public async Task RateLimitingIsRetriedAndTheMessageIsSentOnce()
    {
        var (business, customer) = await CustomerWhoWroteAsync();
        // More 429s than the HttpClient's own retries absorb: the job retries the rest with backoff.
        fixture.Twilio.FailNext(5, FakeTwilioFailure.TooManyRequests(TimeSpan.Zero), "Messages.json");
        var id = await SendAcceptedAsync(new { businessId = business.Id, to = customer, body = "retry me" });
        await using var worker = fixture.StartWorker();

        var sid = await WaitForSidAsync(id);
        var (status, attempts) = await WaitForJobAsync(id, "succeeded");
        Assert.Equal("succeeded", status);
        Assert.True(attempts >= 2, $"the job should have retried (attempts {attempts})");
        Assert.Equal(6, RequestsTo(customer));
        Assert.Equal(sid, Assert.Single(fixture.Twilio.Messages, m => m.To == "whatsapp:" + customer).Sid);
        Assert.Equal("queued", await fixture.ScalarAsync<string>("SELECT status FROM messages WHERE id = $1", id));
    }

    [Fact]
    public async Task ATwilioOutageIsRetriedByTheJobWithBackoffAndTheMessageIsSentOnce()
    {
        var (business, customer) = await CustomerWhoWroteAsync();
        fixture.Twilio.FailNext(2, FakeTwilioFailure.ServerError(), "Messages.json");
        var id = await SendAcceptedAsync(new { businessId = business.Id, to = customer, body = "outage" });
        await using var worker = fixture.StartWorker();

        var sid = await WaitForSidAsync(id);
        Assert.Equal(("succeeded", 3), await WaitForJobAsync(id, "succeeded"));
        Assert.Equal(3, RequestsTo(customer));
        Assert.Equal(sid, Assert.Single(fixture.Twilio.Messages, m => m.To == "whatsapp:" + customer).Sid);
        Assert.True(worker.Logs.Contains("WHATSAPP_RETRY"));
    }

    [Fact]
    public async Task AQueuedSendSurvivesTheApiStoppingBeforeAnyWorkerRuns()
    {
        var (business, customer) = await CustomerWhoWroteAsync();
        Guid id;
        await using (var api = ApiTestHost.Create(fixture.ConnectionString, extra: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = fixture.Twilio.AuthToken,
            ["PublicBaseUrl"] = fixture.PublicBaseUrl,
        }))
        {
            var response = await api.CreateCrmClient().PostAsJsonAsync("/api/whatsapp/send", new { businessId = business.Id, to = customer, body = "durable" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        }
        Assert.Equal("pending", await fixture.ScalarAsync<string>("SELECT status FROM jobs WHERE payload->>'messageId' = $1", id.ToString()));
        Assert.Equal(0, RequestsTo(customer));

        await using var worker = fixture.StartWorker();

        await WaitForSidAsync(id);
        Assert.Single(fixture.Twilio.Messages, m => m.To == "whatsapp:" + customer && m.Body == "durable");
    }

    [Fact]
    public async Task TheConversationShowsBothDirectionsInOrder()
    {
        var (business, customer) = await CustomerWhoWroteAsync();
        var id = await SendAcceptedAsync(new { businessId = business.Id, to = customer, body = "תשובה" });
        (await fixture.PostInboundAsync(business.WhatsAppNumber!, customer, "תודה!")).EnsureSuccessStatusCode();
        var customerId = await fixture.ScalarAsync<Guid>("SELECT id FROM customers WHERE business_id = $1", business.Id);

        var page = await fixture.Crm.GetFromJsonAsync<JsonElement>($"/api/customers/{customerId}/messages");
        var firstPage = await fixture.Crm.GetFromJsonAsync<JsonElement>($"/api/customers/{customerId}/messages?limit=2");
        var rest = await fixture.Crm.GetFromJsonAsync<JsonElement>($"/api/customers/{customerId}/messages?limit=2&cursor={firstPage.GetProperty("nextCursor").GetString()}");
        var missing = await fixture.Crm.GetAsync($"/api/customers/{Guid.NewGuid()}/messages");

        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["היי, יש לכם תור מחר?", "תשובה", "תודה!"], items.Select(i => i.GetProperty("body").GetString()));
        Assert.Equal(["inbound", "outbound", "inbound"], items.Select(i => i.GetProperty("direction").GetString()));
        Assert.Equal(id, items[1].GetProperty("id").GetGuid());
        Assert.Equal("תודה!", Assert.Single(rest.GetProperty("items").EnumerateArray()).GetProperty("body").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
