using AgentLocator.Api;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>The Api on its own database, in Production mode with one CRM key, unless told otherwise.</summary>
public static class ApiTestHost
{
    public const string ApiKey = "test-api-key-5f1c2a";

    public static ServiceFactory<ApiEntryPoint> Create(string connectionString, string environment = "Production",
        IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:agentlocator"] = connectionString,
            ["Crm:ApiKeys:0"] = ApiKey,
            ["Twilio:AccountSid"] = "AC00000000000000000000000000000000",
            ["Twilio:AuthToken"] = "test-auth-token",
            ["PublicBaseUrl"] = "https://agentlocator.test",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return new ServiceFactory<ApiEntryPoint>(environment, settings);
    }

    public static HttpClient CreateCrmClient(this ServiceFactory<ApiEntryPoint> factory)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }
}
