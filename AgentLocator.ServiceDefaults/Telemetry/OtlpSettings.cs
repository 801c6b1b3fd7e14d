using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;

namespace AgentLocator.ServiceDefaults.Telemetry;

/// <summary>
/// The standard <c>OTEL_EXPORTER_OTLP_*</c> settings, read from configuration (environment
/// variables, command line or settings files alike) rather than only from the process
/// environment as the bare SDK does.
/// </summary>
internal sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol, string? Headers, int MetricInterval)
{
    public static OtlpSettings? From(IConfiguration configuration)
    {
        var endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint) || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            return null;
        }
        var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"]?.Trim().ToLowerInvariant() switch
        {
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => OtlpExportProtocol.Grpc,
        };
        var interval = int.TryParse(configuration["OTEL_METRIC_EXPORT_INTERVAL"], out var ms) && ms > 0 ? ms : 60_000;
        return new OtlpSettings(uri, protocol, configuration["OTEL_EXPORTER_OTLP_HEADERS"], interval);
    }

    /// <summary>With http/protobuf a programmatic endpoint is used as is, so the signal's path is added here.</summary>
    public void Apply(OtlpExporterOptions options, string signal)
    {
        options.Protocol = Protocol;
        options.Endpoint = Protocol == OtlpExportProtocol.HttpProtobuf
            ? new Uri(Endpoint.ToString().TrimEnd('/') + "/v1/" + signal)
            : Endpoint;
        if (!string.IsNullOrWhiteSpace(Headers))
        {
            options.Headers = Headers;
        }
    }

    public static IEnumerable<KeyValuePair<string, object>> ResourceAttributes(string? value)
    {
        foreach (var pair in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=');
            if (equals > 0)
            {
                yield return new(pair[..equals].Trim(), Uri.UnescapeDataString(pair[(equals + 1)..].Trim()));
            }
        }
    }
}
