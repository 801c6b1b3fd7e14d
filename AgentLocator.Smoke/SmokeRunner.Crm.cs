using System.Net;
using System.Text.Json;

namespace AgentLocator.Smoke;

public sealed partial class SmokeRunner
{
    private Guid? _businessId;
    private string? _businessNumber;
    private string? _whatsAppNumber;

    private string NeedsApiKeyReason => "needs --api-key (the run creates and deletes a throw-away business)";

    /// <summary>A throw-away business owning a random number, so the smoke call reaches the whole call flow.</summary>
    private async Task SetUpBusinessAsync(CancellationToken cancellationToken)
    {
        if (_options.ApiKey is null)
        {
            Skip("crm.business.create", _options.BusinessNumber is null
                ? "no --api-key: no throw-away business, and no --business-number either, so the call flow past 'not in service' is not checked"
                : $"no --api-key: the smoke call dials --business-number {_options.BusinessNumber}");
            return;
        }
        await CheckAsync("crm.business.create", async ct =>
        {
            HttpReply? reply = null;
            // A random number can collide with a real one (409): try a few.
            for (var attempt = 0; attempt < 3 && reply is not { Status: HttpStatusCode.Created }; attempt++)
            {
                var number = RandomMobileNumber();
                var whatsApp = RandomMobileNumber();
                reply = await SendJsonAsync(HttpMethod.Post, "/api/businesses", new
                {
                    name = $"{NamePrefix}{_runId}",
                    phoneNumbers = new[] { number },
                    whatsAppNumber = whatsApp,
                    active = true,
                    maxRecordingSeconds = 5,
                }, ct);
                if (reply.Status == HttpStatusCode.Created)
                {
                    _businessNumber = number;
                    _whatsAppNumber = whatsApp;
                }
                else if (reply.Status != HttpStatusCode.Conflict)
                {
                    break;
                }
            }
            reply!.Expect(HttpStatusCode.Created);
            _businessId = Id(reply);
            return $"business {NamePrefix}{_runId} ({_businessId}) owning {_businessNumber}, WhatsApp {_whatsAppNumber}";
        }, cancellationToken);
    }

    /// <summary>Create, read, update and delete a throw-away customer under the throw-away business.</summary>
    private async Task CheckCrmAsync(CancellationToken cancellationToken)
    {
        string[] steps = ["crm.customer.create", "crm.customer.get", "crm.customer.update", "crm.customer.delete"];
        if (_businessId is not { } business)
        {
            foreach (var step in steps)
            {
                Skip(step, _options.ApiKey is null ? NeedsApiKeyReason : "the throw-away business could not be created");
            }
            return;
        }
        var name = $"{NamePrefix}{_runId}";
        var phone = RandomMobileNumber();
        Guid? customer = null;
        await CheckAsync(steps[0], async ct =>
        {
            var reply = (await SendJsonAsync(HttpMethod.Post, $"/api/businesses/{business}/customers",
                new { name, phone, notes = "created by the smoke suite", source = "manual" }, ct)).Expect(HttpStatusCode.Created);
            customer = Id(reply);
            return $"201 customer {customer} in {reply.Ms} ms";
        }, cancellationToken);
        if (customer is not { } id)
        {
            foreach (var step in steps[1..])
            {
                Skip(step, "no customer was created");
            }
            return;
        }
        await CheckAsync(steps[1], async ct =>
        {
            var reply = (await GetAsync(ApiUrl($"/api/customers/{id}"), ct, withApiKey: true)).Expect(HttpStatusCode.OK);
            ExpectField(reply, "name", name);
            ExpectField(reply, "phone", phone);
            return $"200 in {reply.Ms} ms";
        }, cancellationToken);
        await CheckAsync(steps[2], async ct =>
        {
            var renamed = name + "-updated";
            var reply = (await SendJsonAsync(HttpMethod.Put, $"/api/customers/{id}",
                new { name = renamed, phone, notes = "updated by the smoke suite", source = "manual" }, ct)).Expect(HttpStatusCode.OK);
            ExpectField(reply, "name", renamed);
            return $"200 in {reply.Ms} ms";
        }, cancellationToken);
        await CheckAsync(steps[3], async ct =>
        {
            var reply = (await SendAsync(new HttpRequestMessage(HttpMethod.Delete, ApiUrl($"/api/customers/{id}")), withApiKey: true, ct))
                .Expect(HttpStatusCode.NoContent);
            var after = await GetAsync(ApiUrl($"/api/customers/{id}"), ct, withApiKey: true);
            if (after.Status != HttpStatusCode.NotFound)
            {
                throw new SmokeFailure($"deleted, but GET still answers {after.Code}");
            }
            return $"204 in {reply.Ms} ms, then 404";
        }, cancellationToken);
    }

    /// <summary>An inbound WhatsApp message to the throw-away business's sender, as Twilio posts it.</summary>
    private async Task CheckWhatsAppAsync(CancellationToken cancellationToken)
    {
        if (_whatsAppNumber is null)
        {
            var reason = _options.ApiKey is null ? NeedsApiKeyReason : "the throw-away business could not be created";
            Skip("whatsapp.webhook", reason);
            Skip("whatsapp.lead", reason);
            return;
        }
        var waId = RandomMobileNumber();
        var form = Form(
            ("MessageSid", "SMsmoke" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))),
            ("SmsMessageSid", "SMsmoke" + _runId), ("AccountSid", _accountSid),
            ("From", "whatsapp:" + waId), ("To", "whatsapp:" + _whatsAppNumber), ("Body", $"{NamePrefix}{_runId}: smoke test message"),
            ("NumMedia", "0"), ("ProfileName", $"{NamePrefix}{_runId}"), ("WaId", waId.TrimStart('+')), ("SmsStatus", "received"),
            ("ApiVersion", "2010-04-01"));
        if (ValidatesSignatures)
        {
            await CheckAsync("whatsapp.webhook.unsigned", async ct =>
            {
                var reply = await PostWebhookAsync("/whatsapp/webhook", form, sign: false, ct);
                if (reply.Status != HttpStatusCode.Forbidden)
                {
                    throw new SmokeFailure($"an unsigned WhatsApp webhook got {reply.Code}, expected 403");
                }
                return "403 without X-Twilio-Signature";
            }, cancellationToken);
        }
        if (!CanPostWebhooks)
        {
            Skip("whatsapp.webhook", NeedsTokenReason);
            Skip("whatsapp.lead", NeedsTokenReason);
            return;
        }
        var delivered = await CheckAsync("whatsapp.webhook", async ct =>
        {
            var reply = await PostWebhookAsync("/whatsapp/webhook", form, sign: true, ct);
            if (!reply.IsSuccess)
            {
                throw new SmokeFailure($"expected 2xx, got {reply.Code}: {reply.Snippet()}");
            }
            return $"{reply.Code} {reply.MediaType} in {reply.Ms} ms";
        }, cancellationToken);
        if (!delivered || _businessId is not { } business)
        {
            Skip("whatsapp.lead", "the WhatsApp webhook did not pass");
            return;
        }
        // The message must have reached the business that owns the sender: its writer is now a customer there.
        await CheckAsync("whatsapp.lead", async ct =>
        {
            var reply = (await GetAsync(ApiUrl($"/api/businesses/{business}/customers?phone={Uri.EscapeDataString(waId)}"), ct, withApiKey: true))
                .Expect(HttpStatusCode.OK);
            using var page = reply.Json();
            var match = page.RootElement.GetProperty("items").EnumerateArray()
                .FirstOrDefault(c => c.TryGetProperty("name", out var name) && name.GetString() == $"{NamePrefix}{_runId}");
            if (match.ValueKind != JsonValueKind.Object)
            {
                throw new SmokeFailure($"no customer {NamePrefix}{_runId} with the sender's phone under the smoke business: the message was not stored for it");
            }
            return $"customer {NamePrefix}{_runId} ({match.GetProperty("source").GetString()}) under the smoke business";
        }, cancellationToken);
    }

    /// <summary>Deletes what the run created: the customers under the throw-away business (WhatsApp leads included), then the business.</summary>
    private async Task CleanUpAsync(CancellationToken cancellationToken)
    {
        if (_businessId is not { } business)
        {
            return;
        }
        await CheckAsync("crm.cleanup", async ct =>
        {
            var deleted = 0;
            var list = (await GetAsync(ApiUrl($"/api/businesses/{business}/customers?limit=100"), ct, withApiKey: true)).Expect(HttpStatusCode.OK);
            using (var page = list.Json())
            {
                foreach (var item in page.RootElement.GetProperty("items").EnumerateArray())
                {
                    var id = item.GetProperty("id").GetGuid();
                    (await SendAsync(new HttpRequestMessage(HttpMethod.Delete, ApiUrl($"/api/customers/{id}")), withApiKey: true, ct)).Expect(HttpStatusCode.NoContent);
                    deleted++;
                }
            }
            (await SendAsync(new HttpRequestMessage(HttpMethod.Delete, ApiUrl($"/api/businesses/{business}")), withApiKey: true, ct)).Expect(HttpStatusCode.NoContent);
            var after = await GetAsync(ApiUrl($"/api/businesses/{business}"), ct, withApiKey: true);
            if (after.Status != HttpStatusCode.NotFound)
            {
                throw new SmokeFailure($"business {business} deleted, but GET still answers {after.Code}");
            }
            _businessId = null;
            return $"deleted {deleted} customer(s) and business {NamePrefix}{_runId}; its number {_businessNumber} is released";
        }, cancellationToken);
    }

    private static Guid Id(HttpReply reply)
    {
        using var json = reply.Json();
        return json.RootElement.TryGetProperty("id", out var id) && id.TryGetGuid(out var value)
            ? value
            : throw new SmokeFailure($"{reply.Code} without an id: {reply.Snippet()}");
    }

    private static void ExpectField(HttpReply reply, string name, string expected)
    {
        using var json = reply.Json();
        var actual = json.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (actual != expected)
        {
            throw new SmokeFailure($"{name} is '{actual}', expected '{expected}'");
        }
    }
}
