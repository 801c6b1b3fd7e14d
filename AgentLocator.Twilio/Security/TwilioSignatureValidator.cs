using Twilio.Security;

namespace AgentLocator.Twilio.Security;

/// <summary>
/// Checks Twilio's <c>X-Twilio-Signature</c> with the SDK's <see cref="RequestValidator"/>, accepting what
/// Twilio's Node helper library accepts for the URL as received:
/// <list type="bullet">
/// <item>the URL with or without the scheme's default port, both ways (the SDK alone rejects a signature
/// computed over <c>https://host:443/…</c> when given <c>https://host/…</c>), the host's case kept;</item>
/// <item>form parameters as sent: a repeated name contributes each of its distinct values in ordinal order,
/// and names that differ only in case are different parameters (the SDK takes one value per name);</item>
/// <item>a JSON body through the URL's <c>bodySHA256</c>.</item>
/// </list>
/// </summary>
public sealed class TwilioSignatureValidator
{
    /// <summary>The header Twilio puts the signature in.</summary>
    public const string SignatureHeader = "X-Twilio-Signature";

    /// <summary>The query parameter that carries the SHA-256 of a JSON body.</summary>
    public const string BodyHashParameter = "bodySHA256";

    private readonly RequestValidator _validator;

    /// <summary>Creates a validator for one account's auth token.</summary>
    public TwilioSignatureValidator(string authToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(authToken);
        _validator = new RequestValidator(authToken);
    }

    /// <summary>Whether <paramref name="signature"/> signs a form POST (or, with no parameters, a GET) to <paramref name="url"/>.</summary>
    public bool IsValid(string url, IEnumerable<KeyValuePair<string, string>> parameters, string? signature)
    {
        ArgumentException.ThrowIfNullOrEmpty(url);
        ArgumentNullException.ThrowIfNull(parameters);
        if (string.IsNullOrEmpty(signature))
        {
            return false;
        }

        var combined = CombineRepeatedNames(parameters);
        return AnyCandidate(url, candidate => _validator.Validate(candidate, combined, signature));
    }

    /// <summary>Whether <paramref name="signature"/> signs <paramref name="url"/> and its <c>bodySHA256</c> is the hash of <paramref name="body"/>.</summary>
    public bool IsValidWithBody(string url, string body, string? signature)
    {
        ArgumentException.ThrowIfNullOrEmpty(url);
        ArgumentNullException.ThrowIfNull(body);
        if (string.IsNullOrEmpty(signature) || !url.Contains(BodyHashParameter, StringComparison.Ordinal))
        {
            return false;
        }

        return AnyCandidate(url, candidate => _validator.Validate(candidate, body, signature));
    }

    /// <summary>The URL without its port and with the scheme's default port (or the port it has), spliced into the string as received.</summary>
    public static IReadOnlyList<string> CandidateUrls(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!SplitUrl(url, out var prefix, out var host, out var port, out var rest))
        {
            return [url];
        }

        var withPort = port.Length > 0
            ? url
            : prefix + host + (prefix.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? ":443" : ":80") + rest;
        return [prefix + host + rest, withPort];
    }

    private static bool AnyCandidate(string url, Func<string, bool> validate)
    {
        foreach (var candidate in CandidateUrls(url))
        {
            try
            {
                if (validate(candidate))
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is UriFormatException or ArgumentException)
            {
                // The SDK parses the URL with System.Uri for its own port variant; a URL it cannot parse does not validate.
            }
        }

        return false;
    }

    /// <summary>
    /// One dictionary entry per name, ordinal and case-sensitive. A repeated name's distinct values are sorted
    /// ordinally and joined with the name, so the SDK's <c>name + value</c> yields <c>name v1 name v2 …</c>.
    /// </summary>
    private static Dictionary<string, string> CombineRepeatedNames(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var combined = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in parameters.GroupBy(p => p.Key ?? string.Empty, p => p.Value ?? string.Empty, StringComparer.Ordinal))
        {
            var values = group.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            combined[group.Key] = string.Join(group.Key, values);
        }

        return combined;
    }

    // Splits "scheme://userinfo@host:port/rest" without normalising anything (System.Uri would lowercase the host).
    private static bool SplitUrl(string url, out string prefix, out string host, out string port, out string rest)
    {
        prefix = host = port = rest = string.Empty;
        var separator = url.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0 || !char.IsAsciiLetter(url[0]) || !IsScheme(url.AsSpan(0, separator)))
        {
            return false;
        }

        var authorityStart = separator + 3;
        var authorityEnd = url.IndexOfAny(['/', '?', '#'], authorityStart);
        if (authorityEnd < 0)
        {
            authorityEnd = url.Length;
        }

        var authority = url[authorityStart..authorityEnd];
        var userInfoEnd = authority.LastIndexOf('@');
        var hostAndPort = authority[(userInfoEnd + 1)..];
        // A colon starts the port only after an IPv6 literal's closing bracket.
        var portStart = hostAndPort.IndexOf(':', hostAndPort.LastIndexOf(']') + 1);

        prefix = url[..authorityStart] + authority[..(userInfoEnd + 1)];
        host = portStart < 0 ? hostAndPort : hostAndPort[..portStart];
        port = portStart < 0 ? string.Empty : hostAndPort[portStart..];
        rest = url[authorityEnd..];
        return true;
    }

    private static bool IsScheme(ReadOnlySpan<char> scheme)
    {
        foreach (var c in scheme)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
