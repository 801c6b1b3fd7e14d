using System.Net;
using Microsoft.Extensions.Primitives;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>One request <see cref="FakeTwilioServer"/> received, with what it answered.</summary>
public sealed record FakeTwilioRequest(
    string Method,
    string Path,
    string QueryString,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<KeyValuePair<string, string>> Form,
    byte[] Body,
    bool Authenticated,
    int ResponseStatus,
    int? ResponseTwilioCode,
    DateTimeOffset ReceivedAt)
{
    /// <summary>The first value of a form field, or <see langword="null"/>.</summary>
    public string? FormValue(string name) => Form.FirstOrDefault(p => p.Key == name).Value;

    /// <summary>Every value of a (repeatable) form field, in order.</summary>
    public IReadOnlyList<string> FormValues(string name) => Form.Where(p => p.Key == name).Select(p => p.Value).ToList();

    /// <summary>A header's value, or <see langword="null"/>.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A scripted answer for the next requests: a Twilio error, an HTTP failure with <c>Retry-After</c>,
/// or a delay before the normal answer (<see cref="StatusCode"/> 0).
/// </summary>
public sealed record FakeTwilioFailure(int StatusCode, int? Code, string Message, TimeSpan? RetryAfter = null, TimeSpan? Delay = null)
{
    /// <summary>429 / 20429 with <c>Retry-After</c> in whole seconds (default 1).</summary>
    public static FakeTwilioFailure TooManyRequests(TimeSpan? retryAfter = null) =>
        new(429, 20429, "Too Many Requests", retryAfter ?? TimeSpan.FromSeconds(1));

    /// <summary>500 / 20500.</summary>
    public static FakeTwilioFailure ServerError() => new(500, 20500, "An internal server error has occurred");

    /// <summary>503 / 20503, optionally with <c>Retry-After</c>.</summary>
    public static FakeTwilioFailure ServiceUnavailable(TimeSpan? retryAfter = null) => new(503, 20503, "Service Unavailable", retryAfter);

    /// <summary>Any Twilio error, e.g. <c>TwilioError(63016, "...")</c>.</summary>
    public static FakeTwilioFailure TwilioError(int code, string message, int statusCode = 400) => new(statusCode, code, message);

    /// <summary>63016: a free-form WhatsApp message outside the 24-hour window.</summary>
    public static FakeTwilioFailure WhatsAppOutsideWindow() => TwilioError(
        63016,
        "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.");

    /// <summary>21211: invalid To number.</summary>
    public static FakeTwilioFailure InvalidToNumber() => TwilioError(21211, "Invalid 'To' Phone Number");

    /// <summary>Waits <paramref name="delay"/>, then answers normally (for timeout tests).</summary>
    public static FakeTwilioFailure Slow(TimeSpan delay) => new(0, null, "slow", Delay: delay);
}

/// <summary>A call the fake knows, with every update it received.</summary>
public sealed class FakeTwilioCall
{
    internal FakeTwilioCall(string sid, string status)
    {
        Sid = sid;
        Status = status;
    }

    /// <summary>The call SID.</summary>
    public string Sid { get; }

    /// <summary>The current status (<c>in-progress</c>, <c>completed</c>, ...).</summary>
    public string Status { get; internal set; }

    /// <summary>Whether the fake answers 404 / 20404 for it.</summary>
    public bool Gone { get; internal set; }

    /// <summary>The form of each accepted update, oldest first.</summary>
    public IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> Updates => UpdateList.ToList();

    internal List<IReadOnlyList<KeyValuePair<string, string>>> UpdateList { get; } = [];
}

/// <summary>A message created through the fake.</summary>
public sealed record FakeTwilioMessage(
    string Sid,
    string To,
    string From,
    string? Body,
    IReadOnlyList<string> MediaUrls,
    string? StatusCallback,
    string? ContentSid,
    string? ContentVariables,
    DateTimeOffset CreatedAt);

/// <summary>A recording the fake serves; <see cref="Url"/> is what Twilio posts as <c>RecordingUrl</c>.</summary>
public sealed class FakeTwilioRecording
{
    internal FakeTwilioRecording(string sid, Uri url, byte[] wav, byte[] mp3, int notReadyRequests)
    {
        Sid = sid;
        Url = url;
        Wav = wav;
        Mp3 = mp3;
        NotReadyRequests = notReadyRequests;
    }

    /// <summary>The recording SID (<c>RE...</c>).</summary>
    public string Sid { get; }

    /// <summary>The absolute recording URL, without extension.</summary>
    public Uri Url { get; }

    /// <summary>The bytes served for <c>.wav</c> (and for no extension).</summary>
    public byte[] Wav { get; }

    /// <summary>The bytes served for <c>.mp3</c>.</summary>
    public byte[] Mp3 { get; }

    /// <summary>How many more downloads answer 404 (still processing).</summary>
    public int NotReadyRequests { get; internal set; }

    /// <summary>How many downloads succeeded.</summary>
    public int Downloads { get; internal set; }
}

internal sealed record ScriptedFailure(FakeTwilioFailure Failure, string? PathContains)
{
    public int Remaining { get; set; }
}

internal static class FormExtensions
{
    public static List<KeyValuePair<string, string>> ToPairs(this IEnumerable<KeyValuePair<string, StringValues>> form) =>
        form.SelectMany(f => f.Value.Select(v => new KeyValuePair<string, string>(f.Key, v ?? string.Empty))).ToList();

    public static HttpStatusCode AsStatus(this int status) => (HttpStatusCode)status;
}
