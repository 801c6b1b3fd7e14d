using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace AgentLocator.Twilio.Security;

/// <summary>
/// Computes and checks Twilio's <c>X-Twilio-Signature</c> (HMAC-SHA1 keyed with the auth token).
/// Works on the URL string exactly as Twilio requested it: the host's case is kept and nothing
/// goes through <see cref="Uri"/>; a fragment is dropped; values are never trimmed.
/// </summary>
/// <remarks>
/// Form parameters are sorted by name in ordinal order and appended as <c>name + value</c>; a
/// repeated name contributes each of its distinct values, sorted ordinally (what Twilio's Node and
/// Python helper libraries do). A signature is accepted for the URL as given, the URL without its
/// port, or the URL with the scheme's default port added (<c>:443</c> / <c>:80</c>).
/// </remarks>
public sealed class TwilioRequestValidator
{
    /// <summary>The header Twilio puts the signature in.</summary>
    public const string SignatureHeader = "X-Twilio-Signature";

    /// <summary>The query parameter that carries the SHA-256 of a JSON body.</summary>
    public const string BodyHashParameter = "bodySHA256";

    private readonly byte[] _key;

    /// <summary>Creates a validator for one account's auth token.</summary>
    public TwilioRequestValidator(string authToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(authToken);
        _key = Encoding.UTF8.GetBytes(authToken);
    }

    /// <summary>The signature of a request without form parameters (GET, or a JSON body).</summary>
    public string ComputeSignature(string url) => ComputeSignatureCore(StripFragment(url), []);

    /// <summary>The signature of a form POST; <paramref name="parameters"/> may repeat a name.</summary>
    public string ComputeSignature(string url, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return ComputeSignatureCore(StripFragment(url), Normalize(parameters.Select(p => (p.Key, (string?)p.Value))));
    }

    /// <summary>The signature of a form POST as ASP.NET Core parsed it.</summary>
    public string ComputeSignature(string url, IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(form);
        return ComputeSignatureCore(StripFragment(url), Normalize(Flatten(form)));
    }

    /// <summary>Checks the signature of a GET request (its parameters are in the URL).</summary>
    public bool ValidateGet(string url, string? signature) => Validate(url, signature, []);

    /// <summary>Checks the signature of a form POST.</summary>
    public bool Validate(string url, IEnumerable<KeyValuePair<string, string>> parameters, string? signature)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return Validate(url, signature, Normalize(parameters.Select(p => (p.Key, (string?)p.Value))));
    }

    /// <summary>Checks the signature of a form POST as ASP.NET Core parsed it.</summary>
    public bool Validate(string url, IFormCollection form, string? signature)
    {
        ArgumentNullException.ThrowIfNull(form);
        return Validate(url, signature, Normalize(Flatten(form)));
    }

    /// <summary>
    /// Checks a request with a JSON (or other raw) body: the URL, signed with no parameters, must
    /// match the signature, and its <c>bodySHA256</c> query parameter must be the body's SHA-256.
    /// </summary>
    public bool ValidateWithBody(string url, ReadOnlySpan<byte> body, string? signature)
    {
        var urlIsValid = Validate(url, signature, []);
        var expectedHash = GetQueryParameter(StripFragment(url), BodyHashParameter);
        var bodyIsValid = expectedHash is not null && FixedTimeEquals(ComputeBodyHash(body), expectedHash);
        return urlIsValid & bodyIsValid;
    }

    /// <summary>Checks a request with a raw body given as text (encoded as UTF-8 to hash it).</summary>
    public bool ValidateWithBody(string url, string body, string? signature)
    {
        ArgumentNullException.ThrowIfNull(body);
        return ValidateWithBody(url, Encoding.UTF8.GetBytes(body), signature);
    }

    /// <summary>Lowercase hex SHA-256 of a body, as Twilio puts it in <c>bodySHA256</c>.</summary>
    public static string ComputeBodyHash(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body));

    /// <summary>The URL variants a signature is accepted for: as given, without port, with the default port.</summary>
    public static IReadOnlyList<string> GetCandidateUrls(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        url = StripFragment(url);
        var candidates = new List<string>(3) { url };
        if (TrySplitAuthority(url, out var scheme, out var userInfo, out var host, out var port, out var rest))
        {
            var withoutPort = scheme + userInfo + host + rest;
            if (port.Length > 0)
            {
                candidates.Add(withoutPort);
            }
            else
            {
                var defaultPort = scheme.Equals("https://", StringComparison.OrdinalIgnoreCase) ? ":443" : ":80";
                candidates.Add(scheme + userInfo + host + defaultPort + rest);
            }
        }

        return candidates;
    }

    private bool Validate(string url, string? signature, List<(string Name, string Value)> parameters)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (string.IsNullOrEmpty(signature))
        {
            return false;
        }

        var valid = false;
        foreach (var candidate in GetCandidateUrls(url))
        {
            // Non-short-circuiting OR: every candidate is checked, so timing does not reveal which matched.
            valid |= FixedTimeEquals(ComputeSignatureCore(candidate, parameters), signature);
        }

        return valid;
    }

    private string ComputeSignatureCore(string url, List<(string Name, string Value)> sortedParameters)
    {
        ArgumentNullException.ThrowIfNull(url);
        var data = new StringBuilder(url.Length + (sortedParameters.Count * 24)).Append(url);
        foreach (var (name, value) in sortedParameters)
        {
            data.Append(name).Append(value);
        }

        return Convert.ToBase64String(HMACSHA1.HashData(_key, Encoding.UTF8.GetBytes(data.ToString())));
    }

    private static List<(string Name, string Value)> Normalize(IEnumerable<(string Name, string? Value)> parameters)
    {
        var list = parameters
            .Select(p => (Name: p.Name ?? string.Empty, Value: p.Value ?? string.Empty))
            .Distinct()
            .ToList();
        list.Sort(static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        });
        return list;
    }

    private static IEnumerable<(string Name, string? Value)> Flatten(IEnumerable<KeyValuePair<string, StringValues>> parameters)
    {
        foreach (var (name, values) in parameters)
        {
            foreach (var value in values)
            {
                yield return (name, value);
            }
        }
    }

    private static bool FixedTimeEquals(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(actual));

    private static string StripFragment(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var hash = url.IndexOf('#', StringComparison.Ordinal);
        return hash < 0 ? url : url[..hash];
    }

    // Splits "scheme://userinfo@host:port/rest" without normalising anything (System.Uri would lowercase the host).
    private static bool TrySplitAuthority(string url, out string scheme, out string userInfo, out string host, out string port, out string rest)
    {
        scheme = userInfo = host = port = rest = string.Empty;
        var separator = url.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0 || !char.IsAsciiLetter(url[0]))
        {
            return false;
        }

        for (var i = 1; i < separator; i++)
        {
            if (!(char.IsAsciiLetterOrDigit(url[i]) || url[i] is '+' or '-' or '.'))
            {
                return false;
            }
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
        var portStart = hostAndPort.IndexOf(':', hostAndPort.LastIndexOf(']') + 1);

        scheme = url[..authorityStart];
        userInfo = authority[..(userInfoEnd + 1)];
        host = portStart < 0 ? hostAndPort : hostAndPort[..portStart];
        port = portStart < 0 ? string.Empty : hostAndPort[portStart..];
        rest = url[authorityEnd..];
        return true;
    }

    private static string? GetQueryParameter(string url, string name)
    {
        var query = url.IndexOf('?', StringComparison.Ordinal);
        if (query < 0)
        {
            return null;
        }

        foreach (var pair in url[(query + 1)..].Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? pair : pair[..equals];
            if (Uri.UnescapeDataString(key.Replace('+', ' ')) == name)
            {
                return equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            }
        }

        return null;
    }
}
