using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentLocator.Api;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Crm;

public sealed class CrmApiTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private ServiceFactory<ApiEntryPoint> _api = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _api = ApiTestHost.Create(database.ConnectionString);
        _client = _api.CreateCrmClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string UniqueNumber() => "+9725" + Random.Shared.NextInt64(10_000_000, 99_999_999);

    private async Task<JsonElement> CreateBusinessAsync(params string[] numbers)
    {
        var response = await _client.PostAsJsonAsync("/api/businesses", new { name = "Cohen & Sons \"Ltd\" <TLV>", phoneNumbers = numbers });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task BusinessRoundTripNormalisesNumbersToE164()
    {
        var local = "050-" + Random.Shared.Next(100, 999) + "-" + Random.Shared.Next(1000, 9999);
        var response = await _client.PostAsJsonAsync("/api/businesses", new
        {
            name = "מספרת רחל",
            phoneNumbers = new[] { local },
            whatsAppNumber = "whatsapp:+972 3 555 0000".Replace("0000", Random.Shared.Next(1000, 9999).ToString()),
            notificationPhone = "+972-52-1234567",
            timeZone = "Asia/Jerusalem",
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetGuid();
        Assert.Equal("+97250" + local[4..].Replace("-", ""), created.GetProperty("phoneNumbers")[0].GetString());
        Assert.Equal("+972521234567", created.GetProperty("notificationPhone").GetString());
        Assert.True(created.GetProperty("active").GetBoolean());
        Assert.Equal($"/api/businesses/{id}", response.Headers.Location?.OriginalString);

        var fetched = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{id}");
        Assert.Equal("מספרת רחל", fetched.GetProperty("name").GetString());

        var updated = await _client.PutAsJsonAsync($"/api/businesses/{id}", new { name = "Rachel's Salon", phoneNumbers = new[] { local }, active = false });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var afterUpdate = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{id}");
        Assert.Equal("Rachel's Salon", afterUpdate.GetProperty("name").GetString());
        Assert.False(afterUpdate.GetProperty("active").GetBoolean());

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/businesses/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/businesses/{id}")).StatusCode);
    }

    [Fact]
    public async Task InvalidBusinessNamesEveryBadField()
    {
        var response = await _client.PostAsJsonAsync("/api/businesses", new
        {
            name = "",
            phoneNumbers = new[] { "not a phone" },
            notificationPhone = "12",
            timeZone = "Mars/Olympus",
            maxRecordingSeconds = 1,
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        foreach (var field in new[] { "name", "phoneNumbers[0]", "notificationPhone", "timeZone", "maxRecordingSeconds" })
        {
            Assert.True(errors.TryGetProperty(field, out _), $"no error for {field}: {errors}");
        }

        var tooLong = await _client.PostAsJsonAsync("/api/businesses", new { name = new string('x', 201) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("at most 200", await tooLong.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task APhoneNumberBelongsToOneBusinessOnly()
    {
        var number = UniqueNumber();
        await CreateBusinessAsync(number);
        var second = await _client.PostAsJsonAsync("/api/businesses", new { name = "Other", phoneNumbers = new[] { number } });
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains(number, await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task CustomersAreSearchableByPhoneInAnyFormatAndByName()
    {
        var business = await CreateBusinessAsync(UniqueNumber());
        var businessId = business.GetProperty("id").GetGuid();
        var create = await _client.PostAsJsonAsync($"/api/businesses/{businessId}/customers", new { name = "Dana Levi", phone = "052-765-4321", notes = "wants Tuesday" });
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var customer = await create.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("+972527654321", customer.GetProperty("phone").GetString());
        Assert.Equal("manual", customer.GetProperty("source").GetString());
        Assert.Equal(businessId, customer.GetProperty("businessId").GetGuid());

        var byPhone = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{businessId}/customers?phone=%2B972527654321");
        Assert.Equal(customer.GetProperty("id").GetGuid(), byPhone.GetProperty("items")[0].GetProperty("id").GetGuid());
        var byName = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{businessId}/customers?q=levi");
        Assert.Equal(1, byName.GetProperty("items").GetArrayLength());
        var none = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{businessId}/customers?q=%25");
        Assert.Equal(0, none.GetProperty("items").GetArrayLength());

        var duplicate = await _client.PostAsJsonAsync($"/api/businesses/{businessId}/customers", new { name = "Dana again", phone = "+972527654321" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);

        var id = customer.GetProperty("id").GetGuid();
        var update = await _client.PutAsJsonAsync($"/api/customers/{id}", new { name = "Dana Levi-Cohen", phone = "+972527654321", notes = "called back" });
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal("called back", (await _client.GetFromJsonAsync<JsonElement>($"/api/customers/{id}")).GetProperty("notes").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/customers/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/customers/{id}")).StatusCode);
    }

    [Fact]
    public async Task CursorPaginationWalksEveryCustomerOnce()
    {
        var businessId = (await CreateBusinessAsync(UniqueNumber())).GetProperty("id").GetGuid();
        for (var i = 0; i < 5; i++)
        {
            var r = await _client.PostAsJsonAsync($"/api/businesses/{businessId}/customers", new { name = $"Customer {i}", phone = UniqueNumber() });
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{businessId}/customers?limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);
        Assert.Equal(3, pages);
        // Pages walk the ids (UUIDv7: time-ordered to the millisecond, random within one), so two customers added in the
        // same millisecond may come in either order; each must come exactly once.
        Assert.Distinct(seen);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"Customer {i}"), seen.Order());

        var badCursor = await _client.GetAsync($"/api/businesses/{businessId}/customers?cursor=%27%20OR%201%3D1--");
        Assert.Equal(HttpStatusCode.BadRequest, badCursor.StatusCode);
        var badLimit = await _client.GetAsync($"/api/businesses/{businessId}/customers?limit=100000");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
    }

    [Fact]
    public async Task DeletingABusinessWithCustomersKeepsThemAndHidesTheBusiness()
    {
        var businessId = (await CreateBusinessAsync(UniqueNumber())).GetProperty("id").GetGuid();
        var customer = await (await _client.PostAsJsonAsync($"/api/businesses/{businessId}/customers", new { name = "Kept" })).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/businesses/{businessId}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/businesses/{businessId}")).StatusCode);
        var kept = await _client.GetFromJsonAsync<JsonElement>($"/api/customers/{customer.GetProperty("id").GetGuid()}");
        Assert.Equal(businessId, kept.GetProperty("businessId").GetGuid());
    }

    [Fact]
    public async Task UnknownIdsAreNotFoundProblems()
    {
        var id = Guid.NewGuid();
        foreach (var path in new[] { $"/api/businesses/{id}", $"/api/customers/{id}", $"/api/calls/{id}", $"/api/businesses/{id}/customers" })
        {
            var response = await _client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains(id.ToString(), await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/businesses/not-a-guid")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PutAsJsonAsync($"/api/customers/{id}", new { name = "x" })).StatusCode);
    }

    [Fact]
    public async Task RequestsWithoutAValidKeyAreRejectedAndTheKeyIsNeverLogged()
    {
        using var anonymous = _api.CreateClient();
        var none = await anonymous.GetAsync("/api/businesses");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("X-Api-Key", await none.Content.ReadAsStringAsync());

        anonymous.DefaultRequestHeaders.Add("X-Api-Key", ApiTestHost.ApiKey + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/businesses")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/api/businesses")).StatusCode);
        Assert.DoesNotContain(_api.Logs.Lines, l => l.Contains(ApiTestHost.ApiKey, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{\"name\": ")]
    [InlineData("{\"name\": 42, \"phoneNumbers\": \"+972501234567\"}")]
    [InlineData("[1,2,3]")]
    [InlineData("not json at all")]
    public async Task MalformedOrMistypedJsonIsABadRequestProblem(string body)
    {
        var response = await _client.PostAsync("/api/businesses", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task HugeBodiesAreRejectedWith413()
    {
        var huge = "{\"name\":\"" + new string('a', 3 * 1024 * 1024) + "\"}";
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/businesses") { Content = new StringContent(huge, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task SqlLookingStringsAreStoredLiterally()
    {
        const string hostile = "Robert'); DROP TABLE customers;--";
        var businessId = (await CreateBusinessAsync(UniqueNumber())).GetProperty("id").GetGuid();
        var created = await _client.PostAsJsonAsync($"/api/businesses/{businessId}/customers", new { name = hostile, notes = "' OR 1=1 --" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var found = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{businessId}/customers?q=" + Uri.EscapeDataString("DROP TABLE"));
        Assert.Equal(hostile, found.GetProperty("items")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task CallsListNeedsABusiness()
    {
        var response = await _client.GetAsync("/api/calls");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("businessId", await response.Content.ReadAsStringAsync());
        var businessId = (await CreateBusinessAsync(UniqueNumber())).GetProperty("id").GetGuid();
        var empty = await _client.GetFromJsonAsync<JsonElement>($"/api/calls?businessId={businessId}");
        Assert.Equal(0, empty.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task OpenApiDocumentDescribesTheCrm()
    {
        var document = await _client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/businesses", out _));
        Assert.True(paths.TryGetProperty("/api/businesses/{businessId}/customers", out _));
    }
}
