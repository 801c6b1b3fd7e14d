using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentLocator.Api;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Crm;

/// <summary>Every CRM write endpoint, fed what a careless or hostile client sends: always a clear 4xx, never a 500.</summary>
public sealed class CrmBadInputTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private ServiceFactory<ApiEntryPoint> _api = null!;
    private HttpClient _client = null!;
    private Guid _businessId;
    private Guid _customerId;

    public async Task InitializeAsync()
    {
        _api = ApiTestHost.Create(database.ConnectionString);
        _client = _api.CreateCrmClient();
        var business = await _client.PostAsJsonAsync("/api/businesses", new { name = "Bad input Ltd", phoneNumbers = new[] { "+9728" + Random.Shared.Next(1_000_000, 9_999_999) } });
        _businessId = (await business.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var customer = await _client.PostAsJsonAsync($"/api/businesses/{_businessId}/customers", new { name = "Target", phone = "+972501110000" });
        _customerId = (await customer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public static TheoryData<string, string> Writes => new()
    {
        { "POST", "/api/businesses" },
        { "PUT", "/api/businesses/{business}" },
        { "POST", "/api/businesses/{business}/customers" },
        { "PUT", "/api/customers/{customer}" },
    };

    private Task<HttpResponseMessage> SendAsync(string method, string path, string body, string contentType = "application/json")
    {
        var url = path.Replace("{business}", _businessId.ToString()).Replace("{customer}", _customerId.ToString());
        var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        // As a well-behaved client does with a large body: the server can refuse it before it is sent
        // (without this, Kestrel's early 413 can race the upload and surface as a broken pipe).
        request.Headers.ExpectContinue = true;
        return _client.SendAsync(request);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task MalformedJsonWrongTypesAndWrongContentTypesAreClientErrors(string method, string path)
    {
        foreach (var body in new[] { "{", "{\"name\": [}", "null", "\"just a string\"", "{\"name\": {\"nested\": true}}", "{\"phoneNumbers\": 5, \"phone\": 5, \"notes\": false}" })
        {
            var response = await SendAsync(method, path, body);
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{method} {path} with {body} gave {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        var form = await SendAsync(method, path, "name=x", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task HugeBodiesAreRejectedBeforeTheyAreRead(string method, string path)
    {
        var response = await SendAsync(method, path, "{\"name\":\"" + new string('x', 2 * 1024 * 1024) + "\"}");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task SqlLookingAndControlCharacterStringsNeverReachTheDatabaseAsSql(string method, string path)
    {
        var response = await SendAsync(method, path, JsonSerializer.Serialize(new
        {
            name = "x'; DELETE FROM businesses; --",
            phone = "+972' OR '1'='1",
            notes = "\u0000\u0007 bell",
            phoneNumbers = new[] { "1; DROP TABLE calls" },
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.EnumerateObject().Any(), "the problem names the bad fields");
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/api/businesses/{_businessId}")).StatusCode);
    }

    [Theory]
    [InlineData("PUT", "/api/businesses/00000000-0000-0000-0000-000000000001")]
    [InlineData("DELETE", "/api/businesses/00000000-0000-0000-0000-000000000001")]
    [InlineData("POST", "/api/businesses/00000000-0000-0000-0000-000000000001/customers")]
    [InlineData("DELETE", "/api/customers/00000000-0000-0000-0000-000000000001")]
    public async Task UnknownIdsAreNotFoundEvenWithAValidBody(string method, string path)
    {
        var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = JsonContent.Create(new { name = "valid", phone = "+972501234567", phoneNumbers = Array.Empty<string>() }),
        });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
