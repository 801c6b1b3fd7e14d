using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AgentLocator.ServiceDefaults.Telemetry;

/// <summary>
/// The one <see cref="ActivitySource"/> and <see cref="Meter"/> of a service, named
/// <c>AgentLocator.&lt;service&gt;</c>; registered in DI and subscribed by the telemetry providers.
/// </summary>
public sealed class ServiceTelemetry : IDisposable
{
    public ServiceTelemetry(string serviceName, string version)
    {
        Name = "AgentLocator." + serviceName;
        ActivitySource = new ActivitySource(Name, version);
        Meter = new Meter(Name, version);
    }

    public string Name { get; }

    public ActivitySource ActivitySource { get; }

    public Meter Meter { get; }

    public void Dispose()
    {
        ActivitySource.Dispose();
        Meter.Dispose();
    }
}
