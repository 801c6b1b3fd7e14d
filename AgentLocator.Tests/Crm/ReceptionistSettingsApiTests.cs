using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentLocator.Api;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Crm;

/// <summary>The AI receptionist's settings on a business, and what a call shows of the conversation.</summary>
public sealed class ReceptionistSettingsApiTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
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

    [Fact]
    public async Task TheReceptionistSettingsAreKeptAndDefaultToTheAiOnWithTheIntakeAsFallback()
    {
        var plain = await (await _client.PostAsJsonAsync("/api/businesses", new { name = "מספרת רחל", phoneNumbers = new[] { UniqueNumber() } }))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(plain.GetProperty("aiEnabled").GetBoolean());
        Assert.Equal("intake", plain.GetProperty("aiFallback").GetString());
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("assistantInstructions").ValueKind);

        var id = plain.GetProperty("id").GetGuid();
        var put = await _client.PutAsJsonAsync($"/api/businesses/{id}", new
        {
            name = "מספרת רחל",
            phoneNumbers = new[] { plain.GetProperty("phoneNumbers")[0].GetString() },
            assistantInstructions = "  פתוח א׳-ה׳ 9:00-19:00. תספורת 80 ש\"ח.\nאספי שם וזמן לחזרה.  ",
            assistantVoice = "Cedar",
            aiEnabled = false,
            aiFallback = "voicemail",
        });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var fetched = await _client.GetFromJsonAsync<JsonElement>($"/api/businesses/{id}");
        Assert.Equal("פתוח א׳-ה׳ 9:00-19:00. תספורת 80 ש\"ח.\nאספי שם וזמן לחזרה.", fetched.GetProperty("assistantInstructions").GetString());
        Assert.Equal("cedar", fetched.GetProperty("assistantVoice").GetString());
        Assert.False(fetched.GetProperty("aiEnabled").GetBoolean());
        Assert.Equal("voicemail", fetched.GetProperty("aiFallback").GetString());
    }

    [Fact]
    public async Task AnUnknownVoiceOrFallbackOrOverlongInstructionsAreNamedInOneProblem()
    {
        var response = await _client.PostAsJsonAsync("/api/businesses", new
        {
            name = "x",
            phoneNumbers = new[] { UniqueNumber() },
            assistantVoice = "robot",
            aiFallback = "hangup",
            assistantInstructions = new string('א', 8001),
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Contains("marin", errors.GetProperty("assistantVoice")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("intake, voicemail", errors.GetProperty("aiFallback")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("8000", errors.GetProperty("assistantInstructions")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACallShowsItsLeadSummaryTranscriptInOrderAndVoicemailTranscript()
    {
        var business = await (await _client.PostAsJsonAsync("/api/businesses", new { name = "מספרת רחל", phoneNumbers = new[] { UniqueNumber() } }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var businessId = business.GetProperty("id").GetGuid();
        var callId = Guid.CreateVersion7();
        await Sql.ScalarAsync<int>(database.ConnectionString, """
            INSERT INTO calls (id, call_sid, business_id, "from", "to", direction, status, started_at, stream_started, fallback_used,
                conversation_completed, is_test, created_at, updated_at, engine, lead_name, lead_reason, lead_callback_time, summary)
            VALUES ($1, $2, $3, '+972521234567', '+97231234567', 'inbound', 'completed', now(), true, false, true, false, now(), now(),
                'realtime', 'דנה לוי', 'תספורת', 'מחר בבוקר', 'דנה ביקשה תור')
            """, callId, "CA" + Guid.NewGuid().ToString("N"), businessId);
        foreach (var (sequence, speaker, text, item) in new[] { (2, "assistant", "איך קוראים לך?", "item_2"), (1, "caller", "שלום", "item_1") })
        {
            await Sql.ScalarAsync<int>(database.ConnectionString, """
                INSERT INTO transcript_turns (id, call_id, sequence, speaker, text, item_id, interrupted, heard_ms, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
                """, Guid.CreateVersion7(), callId, sequence, speaker, text, item, speaker == "assistant", speaker == "assistant" ? 400 : null);
        }

        await Sql.ScalarAsync<int>(database.ConnectionString, """
            INSERT INTO recordings (id, call_id, recording_url, status, transcript, created_at) VALUES ($1, $2, 'https://api.twilio.com/r', 'stored', 'תחזרו אליי', now())
            """, Guid.CreateVersion7(), callId);

        var call = await _client.GetFromJsonAsync<JsonElement>($"/api/calls/{callId}");

        Assert.Equal(("realtime", "דנה לוי", "תספורת", "מחר בבוקר", "דנה ביקשה תור"), (call.GetProperty("engine").GetString(), call.GetProperty("leadName").GetString(),
            call.GetProperty("leadReason").GetString(), call.GetProperty("leadCallbackTime").GetString(), call.GetProperty("summary").GetString()));
        var transcript = call.GetProperty("transcript");
        Assert.Equal(["caller: שלום", "assistant: איך קוראים לך?"],
            transcript.EnumerateArray().Select(t => t.GetProperty("speaker").GetString() + ": " + t.GetProperty("text").GetString()));
        Assert.True(transcript[1].GetProperty("interrupted").GetBoolean());
        Assert.Equal(400, transcript[1].GetProperty("heardMs").GetInt32());
        Assert.Equal("תחזרו אליי", call.GetProperty("voicemailTranscript").GetString());

        var list = await _client.GetFromJsonAsync<JsonElement>($"/api/calls?businessId={businessId}");
        Assert.Equal(JsonValueKind.Null, list.GetProperty("items")[0].GetProperty("transcript").ValueKind); // lists stay light
    }
}
