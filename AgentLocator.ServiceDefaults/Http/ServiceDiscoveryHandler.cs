using Microsoft.Extensions.Configuration;

namespace AgentLocator.ServiceDefaults.Http;

/// <summary>
/// Aspire-style service discovery from configuration: a request to <c>http://mediaworker/...</c> goes to
/// <c>services:mediaworker:http:0</c> (environment <c>services__mediaworker__http__0</c>). An
/// <c>https://</c> request falls back to the service's <c>http</c> endpoint when it has no <c>https</c> one.
/// Hosts without a configured endpoint are left untouched.
/// </summary>
public sealed class ServiceDiscoveryHandler(IConfiguration configuration) : DelegatingHandler
{
    /// <summary>Resolves <paramref name="uri"/> against the configured service endpoints.</summary>
    /// <exception cref="InvalidOperationException">The configured endpoint is not an absolute URL.</exception>
    public bool TryResolve(Uri uri, out Uri resolved)
    {
        ArgumentNullException.ThrowIfNull(uri);
        resolved = uri;
        if (!uri.IsAbsoluteUri || uri.HostNameType != UriHostNameType.Dns)
        {
            return false;
        }

        var service = uri.IdnHost;
        var key = $"services:{service}:{uri.Scheme}:0";
        var endpoint = configuration[key];
        if (string.IsNullOrWhiteSpace(endpoint) && uri.Scheme == Uri.UriSchemeHttps)
        {
            key = $"services:{service}:http:0";
            endpoint = configuration[key];
        }

        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return false;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var target) || (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"Service endpoint '{key}' must be an absolute http(s) URL, not '{endpoint}'.");
        }

        var basePath = target.AbsolutePath.TrimEnd('/');
        resolved = new UriBuilder(uri)
        {
            Scheme = target.Scheme,
            Host = target.Host,
            Port = target.Port,
            Path = basePath + uri.AbsolutePath,
        }.Uri;
        return true;
    }

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri is { } uri && TryResolve(uri, out var resolved))
        {
            request.RequestUri = resolved;
        }

        return base.SendAsync(request, cancellationToken);
    }
}
