using AgentLocator.MediaWorker;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>The MediaWorker on a given database, with its job loop polling fast and a storage directory of its own.</summary>
public static class MediaWorkerTestHost
{
    public static ServiceFactory<MediaWorkerEntryPoint> Create(string connectionString, IReadOnlyDictionary<string, string?>? twilio = null,
        string environment = "Production", IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:agentlocator"] = connectionString,
            ["Twilio:AccountSid"] = "AC00000000000000000000000000000000",
            ["Twilio:AuthToken"] = "test-auth-token",
            ["PublicBaseUrl"] = "https://agentlocator.test",
            ["Jobs:Enabled"] = "true",
            ["Jobs:PollInterval"] = "00:00:00.100",
            ["Jobs:BaseBackoff"] = "00:00:00.050",
            ["Storage:Directory"] = Path.Combine(Path.GetTempPath(), "agentlocator-test-storage-" + Guid.NewGuid().ToString("N")[..8]),
        };
        foreach (var (key, value) in twilio ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return new ServiceFactory<MediaWorkerEntryPoint>(environment, settings);
    }
}
