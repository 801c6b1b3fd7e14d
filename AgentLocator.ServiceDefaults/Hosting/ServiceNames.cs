namespace AgentLocator.ServiceDefaults.Hosting;

public static class ServiceNames
{
    /// <summary>
    /// The short, lowercase resource name a service reports (<c>api</c>, <c>mediaworker</c>):
    /// <c>OTEL_SERVICE_NAME</c> when set, else the application name without the <c>AgentLocator.</c> prefix.
    /// </summary>
    public static string Resolve(string? otelServiceName, string applicationName)
    {
        if (!string.IsNullOrWhiteSpace(otelServiceName))
        {
            return otelServiceName.Trim();
        }
        const string prefix = "AgentLocator.";
        var name = applicationName.StartsWith(prefix, StringComparison.Ordinal) ? applicationName[prefix.Length..] : applicationName;
        return name.ToLowerInvariant();
    }
}
