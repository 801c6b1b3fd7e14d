using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.Security;

/// <summary>
/// Checks <c>X-Api-Key</c> against the configured keys. The keys themselves are hashed at
/// start-up and dropped; every candidate is compared with every hash in constant time, so
/// neither timing nor the number of keys leaks which key (or how much of one) matched.
/// </summary>
public sealed class ApiKeyValidator
{
    public const string HeaderName = "X-Api-Key";

    private readonly byte[][] _hashes;

    public ApiKeyValidator(IOptions<CrmOptions> options)
    {
        _hashes = options.Value.ApiKeys
            .Where(k => !string.IsNullOrWhiteSpace(k))
            .Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k.Trim())))
            .ToArray();
    }

    public bool HasKeys => _hashes.Length > 0;

    public bool IsValid(string? candidate)
    {
        if (string.IsNullOrEmpty(candidate) || candidate.Length > 512)
        {
            return false;
        }
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(candidate), hash);
        var match = false;
        foreach (var known in _hashes)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, known);
        }
        return match;
    }
}
