using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentLocator.Api;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Crm;

/// <summary>
/// What the owners' web app needs of the CRM: newest-first lead lists filtered by status, source and date, the owner's
/// follow-up (status, note, read), and reads scoped by business so another business's lead is not found.
/// </summary>
public sealed class LeadFollowUpApiTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
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

    private async Task<Guid> CreateBusinessAsync()
    {
        var response = await _client.PostAsJsonAsync("/api/businesses",
            new { name = "Lead follow-up", phoneNumbers = new[] { "+9725" + Random.Shared.NextInt64(10_000_000, 99_999_999) } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<Guid> SeedCallAsync(Guid businessId, DateTimeOffset startedAt, bool voicemail, string status = "completed", bool ended = true)
    {
        var id = Guid.CreateVersion7(startedAt);
        await Sql.ScalarAsync<int>(database.ConnectionString, """
            INSERT INTO calls (id, call_sid, business_id, "from", "to", direction, status, started_at, ended_at, stream_started, fallback_used,
                               conversation_completed, is_test, created_at, updated_at)
            VALUES ($1, $2, $3, '+972529990011', '+97235550000', 'inbound', $6, $4, CASE WHEN $7 THEN $4 END, NOT $5, $5, false, false, $4, $4)
            """, id, "CA" + Guid.NewGuid().ToString("N"), businessId, startedAt, voicemail, status, ended);
        return id;
    }

    [Fact]
    public async Task LeadsComeNewestFirstFilteredByStatusSourceAndDate()
    {
        var businessId = await CreateBusinessAsync();
        var day = new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
        var oldest = await SeedCallAsync(businessId, day, voicemail: true);
        var middle = await SeedCallAsync(businessId, day.AddDays(1), voicemail: false);
        var newest = await SeedCallAsync(businessId, day.AddDays(2), voicemail: false);
        (await _client.PatchAsJsonAsync($"/api/calls/{middle}/lead", new { leadStatus = "closed" })).EnsureSuccessStatusCode();

        async Task<Guid[]> IdsAsync(string query) =>
            (await _client.GetFromJsonAsync<JsonElement>($"/api/calls?businessId={businessId}&newestFirst=true{query}"))
                .GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ToArray();

        Assert.Equal([newest, middle, oldest], await IdsAsync(""));
        Assert.Equal([middle], await IdsAsync("&leadStatus=closed"));
        Assert.Equal([newest, oldest], await IdsAsync("&leadStatus=new"));
        Assert.Equal([oldest], await IdsAsync("&source=voicemail"));
        Assert.Equal([newest, middle], await IdsAsync("&source=live"));
        Assert.Equal([middle], await IdsAsync($"&from={Uri.EscapeDataString(day.AddDays(1).ToString("O"))}&to={Uri.EscapeDataString(day.AddDays(2).ToString("O"))}"));

        // Paging newest first: the cursor continues downwards.
        var first = await _client.GetFromJsonAsync<JsonElement>($"/api/calls?businessId={businessId}&newestFirst=true&limit=2");
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await _client.GetFromJsonAsync<JsonElement>($"/api/calls?businessId={businessId}&newestFirst=true&limit=2&cursor={cursor}");
        Assert.Equal(oldest, second.GetProperty("items")[0].GetProperty("id").GetGuid());

        var bad = await _client.GetAsync($"/api/calls?businessId={businessId}&leadStatus=maybe&source=fax");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("leadStatus", out _));
        Assert.True(errors.TryGetProperty("source", out _));
    }

    [Fact]
    public async Task TheOwnersFollowUpIsSavedAndAFieldLeftOutStaysAsItWas()
    {
        var businessId = await CreateBusinessAsync();
        var callId = await SeedCallAsync(businessId, DateTimeOffset.UtcNow, voicemail: true);
        var unread = await _client.GetFromJsonAsync<JsonElement>($"/api/calls/{callId}");
        Assert.Equal("new", unread.GetProperty("leadStatus").GetString());
        Assert.Equal(JsonValueKind.Null, unread.GetProperty("readAt").ValueKind);

        (await _client.PatchAsJsonAsync($"/api/calls/{callId}/lead", new { read = true })).EnsureSuccessStatusCode();
        var readAt = (await _client.GetFromJsonAsync<JsonElement>($"/api/calls/{callId}")).GetProperty("readAt").GetDateTimeOffset();
        var noted = await _client.PatchAsJsonAsync($"/api/calls/{callId}/lead", new { leadStatus = "called_back", ownerNote = "חזרתי אליה" });
        Assert.Equal(HttpStatusCode.OK, noted.StatusCode);
        var after = await _client.GetFromJsonAsync<JsonElement>($"/api/calls/{callId}");
        Assert.Equal("called_back", after.GetProperty("leadStatus").GetString());
        Assert.Equal("חזרתי אליה", after.GetProperty("ownerNote").GetString());
        Assert.Equal(readAt, after.GetProperty("readAt").GetDateTimeOffset());

        var refused = await _client.PatchAsJsonAsync($"/api/calls/{callId}/lead", new { leadStatus = "won", ownerNote = new string('x', 4001) });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var errors = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("leadStatus", out _));
        Assert.True(errors.TryGetProperty("ownerNote", out _));
        Assert.Equal("called_back", (await _client.GetFromJsonAsync<JsonElement>($"/api/calls/{callId}")).GetProperty("leadStatus").GetString());
    }

    [Fact]
    public async Task AnotherBusinesssCallCustomerOrConversationIsNotFoundWhenScopedByBusiness()
    {
        var mine = await CreateBusinessAsync();
        var theirs = await CreateBusinessAsync();
        var theirCall = await SeedCallAsync(theirs, DateTimeOffset.UtcNow, voicemail: false);
        var customer = await (await _client.PostAsJsonAsync($"/api/businesses/{theirs}/customers", new { name = "Dana", phone = "054-111-2233" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var theirCustomer = customer.GetProperty("id").GetGuid();

        foreach (var path in new[] { $"/api/calls/{theirCall}?businessId={mine}", $"/api/customers/{theirCustomer}?businessId={mine}",
                     $"/api/customers/{theirCustomer}/messages?businessId={mine}" })
        {
            var response = await _client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.DoesNotContain("Dana", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PatchAsJsonAsync($"/api/calls/{theirCall}/lead?businessId={mine}", new { leadStatus = "closed" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PutAsJsonAsync($"/api/customers/{theirCustomer}?businessId={mine}", new { name = "Mine now" })).StatusCode);
        Assert.Equal("new", (await _client.GetFromJsonAsync<JsonElement>($"/api/calls/{theirCall}?businessId={theirs}")).GetProperty("leadStatus").GetString());
        Assert.Equal("Dana", (await _client.GetFromJsonAsync<JsonElement>($"/api/customers/{theirCustomer}")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task CallsInProgressAreTheBusinesssUnendedRecentCallsOnly()
    {
        var businessId = await CreateBusinessAsync();
        var other = await CreateBusinessAsync();
        var now = DateTimeOffset.UtcNow;
        var ringing = await SeedCallAsync(businessId, now.AddMinutes(-1), voicemail: false, status: "ringing", ended: false);
        var talking = await SeedCallAsync(businessId, now.AddMinutes(-3), voicemail: false, status: "in-progress", ended: false);
        await SeedCallAsync(businessId, now.AddMinutes(-5), voicemail: false, status: "completed", ended: true);
        // Its final status callback never came: after two hours it is not shown as going on any more.
        await SeedCallAsync(businessId, now.AddHours(-3), voicemail: false, status: "in-progress", ended: false);
        await SeedCallAsync(other, now.AddMinutes(-1), voicemail: false, status: "ringing", ended: false);

        var page = await _client.GetFromJsonAsync<JsonElement>($"/api/calls?businessId={businessId}&inProgress=true&newestFirst=true");

        Assert.Equal([ringing, talking], page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()));
    }

    [Fact]
    public async Task ValidationAndConflictProblemsCarryStableCodesBesideTheirMessages()
    {
        var businessId = await CreateBusinessAsync();
        var taken = (await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{businessId}")).GetProperty("phoneNumbers")[0].GetString();

        var invalid = await _client.PostAsJsonAsync("/api/businesses", new
        {
            name = "",
            phoneNumbers = new[] { "not a phone" },
            timeZone = "Mars/Olympus_Mons",
            maxRecordingSeconds = 1,
            aiFallback = "pager",
        });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var problem = await invalid.Content.ReadFromJsonAsync<JsonElement>();
        var codes = problem.GetProperty("codes");
        Assert.Equal(["required"], Codes(codes, "name"));
        Assert.Equal(["phone_invalid"], Codes(codes, "phoneNumbers[0]"));
        Assert.Equal(["time_zone_unknown"], Codes(codes, "timeZone"));
        Assert.Equal(["out_of_range"], Codes(codes, "maxRecordingSeconds"));
        Assert.Equal(["unknown_value"], Codes(codes, "aiFallback"));
        // Each coded field still has its message for a person reading the response.
        foreach (var field in codes.EnumerateObject())
        {
            Assert.Equal(field.Value.GetArrayLength(), problem.GetProperty("errors").GetProperty(field.Name).GetArrayLength());
        }

        var conflict = await _client.PostAsJsonAsync("/api/businesses", new { name = "Same number", phoneNumbers = new[] { taken } });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("phone_number_taken", (await conflict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        var note = await _client.PatchAsJsonAsync($"/api/calls/{Guid.NewGuid()}/lead", new { ownerNote = new string('x', 4001) });
        Assert.Equal(["too_long"], Codes((await note.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("codes"), "ownerNote"));

        static string[] Codes(JsonElement codes, string field) => codes.GetProperty(field).EnumerateArray().Select(c => c.GetString()!).ToArray();
    }
}
