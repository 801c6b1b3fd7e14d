using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AgentLocator.Data.Storage;

/// <summary>
/// Signed, expiring links to stored audio (<c>/media/recordings/{id}?exp=&lt;unix&gt;&amp;sig=&lt;HMAC&gt;</c>),
/// so a business owner can open a voicemail from a WhatsApp message without a login, and nobody
/// can guess or extend a link. The MediaWorker creates them, the Api checks them: both derive the
/// key from the same secret as the media stream tokens.
/// </summary>
public sealed class MediaLinks
{
    public const string Recordings = "recordings";
    public const string Utterances = "utterances";

    private readonly byte[] _key;

    public MediaLinks(string secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            throw new ArgumentException("The media link secret is empty.", nameof(secret));
        }
        // A key of its own: a leaked link never helps forge a stream token, and the secret never leaves.
        _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "agentlocator/media-link/v1"u8);
    }

    /// <summary>The path and query of a link to <paramref name="kind"/>/<paramref name="id"/> that works until <paramref name="expires"/>.</summary>
    public string CreatePath(string kind, Guid id, DateTimeOffset expires)
    {
        var exp = expires.ToUnixTimeSeconds();
        return $"/media/{kind}/{id:D}?exp={exp.ToString(CultureInfo.InvariantCulture)}&sig={Sign(kind, id, exp)}";
    }

    public MediaLinkCheck Verify(string kind, Guid id, string? exp, string? sig, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(sig) || sig.Length != 43 || !long.TryParse(exp, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return MediaLinkCheck.Invalid;
        }
        Span<byte> provided = stackalloc byte[32];
        try
        {
            if (!Base64Url.TryDecodeFromChars(sig, provided, out var written) || written != 32)
            {
                return MediaLinkCheck.Invalid;
            }
        }
        catch (FormatException)
        {
            return MediaLinkCheck.Invalid;
        }
        if (!CryptographicOperations.FixedTimeEquals(provided, Hash(kind, id, expires)))
        {
            return MediaLinkCheck.Invalid;
        }
        return now.ToUnixTimeSeconds() > expires ? MediaLinkCheck.Expired : MediaLinkCheck.Valid;
    }

    private string Sign(string kind, Guid id, long expires) => Base64Url.EncodeToString(Hash(kind, id, expires));

    private byte[] Hash(string kind, Guid id, long expires) =>
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{kind}|{id:N}|{expires}")));
}

public enum MediaLinkCheck
{
    Valid,
    Invalid,
    Expired,
}
