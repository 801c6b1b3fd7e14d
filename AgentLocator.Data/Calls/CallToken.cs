using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace AgentLocator.Data.Calls;

/// <summary>
/// The per-call token the Api puts in the stream's <c>&lt;Parameter&gt;</c>s and the MediaWorker
/// checks on <c>start</c>: an HMAC-SHA256 over the call's identity, never the secret itself.
/// A stream that presents a wrong token for its CallSid is refused.
/// </summary>
public sealed class CallToken
{
    private readonly byte[] _key;

    public CallToken(string secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            throw new ArgumentException("The media stream token secret is empty.", nameof(secret));
        }
        // Derive a key of its own so the token secret can be the Twilio auth token without ever exposing it.
        _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "agentlocator/media-stream-token/v1"u8);
    }

    public string Create(string callSid, Guid callId, Guid businessId) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(_key, Message(callSid, callId, businessId)));

    public bool Verify(string? token, string callSid, Guid callId, Guid businessId)
    {
        if (string.IsNullOrEmpty(token) || token.Length != 43)
        {
            return false;
        }
        Span<byte> provided = stackalloc byte[32];
        try
        {
            if (!Base64Url.TryDecodeFromChars(token, provided, out var written) || written != 32)
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(provided, HMACSHA256.HashData(_key, Message(callSid, callId, businessId)));
    }

    private static byte[] Message(string callSid, Guid callId, Guid businessId) =>
        Encoding.UTF8.GetBytes($"{callSid}|{callId:N}|{businessId:N}");
}
