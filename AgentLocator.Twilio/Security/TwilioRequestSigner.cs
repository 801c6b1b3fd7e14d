using System.Security.Cryptography;
using System.Text;

namespace AgentLocator.Twilio.Security;

/// <summary>
/// Signs a request the way Twilio does (HMAC-SHA1 of the URL followed by each parameter's name and value,
/// names in ordinal order), for the clients that play Twilio's part: the smoke suite, the benchmarks and the
/// test fakes. The SDK has a validator but no signer; the tests check this one against Twilio's Node library.
/// </summary>
public sealed class TwilioRequestSigner(string authToken)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(authToken);

    /// <summary>The signature of a form POST to <paramref name="url"/> (of a GET or JSON body when there are no parameters).</summary>
    public string Sign(string url, IEnumerable<KeyValuePair<string, string>>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        var data = new StringBuilder(url);
        var sorted = (parameters ?? []).Distinct().Order(Comparer<KeyValuePair<string, string>>.Create(static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Key, b.Key);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        }));
        foreach (var (name, value) in sorted)
        {
            data.Append(name).Append(value);
        }

        return Convert.ToBase64String(HMACSHA1.HashData(_key, Encoding.UTF8.GetBytes(data.ToString())));
    }

    /// <summary>Lowercase hex SHA-256 of a body, as Twilio puts it in <c>bodySHA256</c>.</summary>
    public static string BodyHash(string body) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
}
