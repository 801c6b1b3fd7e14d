using System.Buffers;
using System.Text;
using System.Xml;

namespace AgentLocator.Twilio.Twiml;

/// <summary>
/// Builds a TwiML document (<c>&lt;Response&gt;</c> and its verbs) fluently. The output is always
/// well-formed XML with an <c>&lt;?xml version="1.0" encoding="UTF-8"?&gt;</c> declaration: text and
/// attribute values are escaped, and characters XML 1.0 cannot carry are removed
/// (see <see cref="XmlTextSanitizer"/>), so a caller's name can never produce Twilio error 12100.
/// </summary>
/// <example>
/// <code>
/// var twiml = new TwimlResponse()
///     .Play("https://example.com/greeting.wav")
///     .Connect(c => c.Stream("wss://example.com/ws/twilio-media", s => s.Parameter("token", token)),
///              action: "https://example.com/webhook/stream_ended");
/// </code>
/// </example>
public sealed class TwimlResponse
{
    /// <summary>The content type to answer TwiML with.</summary>
    public const string ContentType = "text/xml; charset=utf-8";

    private const string Declaration = """<?xml version="1.0" encoding="UTF-8"?>""";

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private static readonly XmlWriterSettings WriterSettings = new()
    {
        Encoding = Utf8NoBom,
        OmitXmlDeclaration = true,
        Indent = false,
        // The sanitizer already removed illegal characters; keep the check as a last line of defence.
        CheckCharacters = true,
        NewLineHandling = NewLineHandling.Entitize,
    };

    private readonly TwimlElement _root = new("Response");

    /// <summary><c>&lt;Play&gt;url&lt;/Play&gt;</c>: plays an MP3 or WAV file.</summary>
    public TwimlResponse Play(string url, int? loop = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        _root.Add(new TwimlElement("Play").Attribute("loop", loop).WithText(url));
        return this;
    }

    /// <summary><c>&lt;Say&gt;</c>: text to speech, e.g. <c>language: "he-IL"</c>.</summary>
    public TwimlResponse Say(string text, string? language = null, string? voice = null, int? loop = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        _root.Add(new TwimlElement("Say")
            .Attribute("language", language)
            .Attribute("voice", voice)
            .Attribute("loop", loop)
            .WithText(text));
        return this;
    }

    /// <summary><c>&lt;Pause length="seconds"/&gt;</c>.</summary>
    public TwimlResponse Pause(int? lengthSeconds = null)
    {
        if (lengthSeconds is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(lengthSeconds), lengthSeconds, "A pause cannot be negative.");
        }

        _root.Add(new TwimlElement("Pause").Attribute("length", lengthSeconds));
        return this;
    }

    /// <summary>
    /// <c>&lt;Connect action method&gt;</c> with the nouns added by <paramref name="configure"/>
    /// (typically one <c>&lt;Stream&gt;</c>). Twilio requests <paramref name="action"/> once the
    /// server closes the stream.
    /// </summary>
    public TwimlResponse Connect(Action<TwimlConnect> configure, string? action = null, string? method = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var element = new TwimlElement("Connect").Attribute("action", action).Attribute("method", method);
        configure(new TwimlConnect(element));
        _root.Add(element);
        return this;
    }

    /// <summary><c>&lt;Record/&gt;</c>: records the caller (voicemail).</summary>
    /// <param name="trim"><see langword="true"/> writes <c>trim="trim-silence"</c>, <see langword="false"/> <c>trim="do-not-trim"</c>.</param>
    /// <param name="recordingStatusCallbackEvent">Space-separated events, e.g. <c>"completed failed"</c>.</param>
    public TwimlResponse Record(
        string? action = null,
        string? method = null,
        int? maxLength = null,
        bool? playBeep = null,
        string? finishOnKey = null,
        int? timeout = null,
        string? recordingStatusCallback = null,
        string? recordingStatusCallbackMethod = null,
        string? recordingStatusCallbackEvent = null,
        bool? trim = null)
    {
        _root.Add(new TwimlElement("Record")
            .Attribute("action", action)
            .Attribute("method", method)
            .Attribute("maxLength", maxLength)
            .Attribute("playBeep", playBeep)
            .Attribute("finishOnKey", finishOnKey)
            .Attribute("timeout", timeout)
            .Attribute("recordingStatusCallback", recordingStatusCallback)
            .Attribute("recordingStatusCallbackMethod", recordingStatusCallbackMethod)
            .Attribute("recordingStatusCallbackEvent", recordingStatusCallbackEvent)
            .Attribute("trim", trim switch { true => "trim-silence", false => "do-not-trim", null => null }));
        return this;
    }

    /// <summary><c>&lt;Redirect method&gt;url&lt;/Redirect&gt;</c>.</summary>
    public TwimlResponse Redirect(string url, string? method = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        _root.Add(new TwimlElement("Redirect").Attribute("method", method).WithText(url));
        return this;
    }

    /// <summary><c>&lt;Hangup/&gt;</c>.</summary>
    public TwimlResponse Hangup()
    {
        _root.Add(new TwimlElement("Hangup"));
        return this;
    }

    /// <summary>
    /// Messaging <c>&lt;Message&gt;</c> reply (SMS / WhatsApp). Without media the body is the
    /// element's text; with media it becomes <c>&lt;Body&gt;</c> plus one <c>&lt;Media&gt;</c> per URL.
    /// </summary>
    public TwimlResponse Message(string? body, IEnumerable<string>? mediaUrls = null, string? action = null, string? method = null)
    {
        var media = mediaUrls?.ToList() ?? [];
        if (string.IsNullOrEmpty(body) && media.Count == 0)
        {
            throw new ArgumentException("A message needs a body or at least one media URL.", nameof(body));
        }

        var element = new TwimlElement("Message").Attribute("action", action).Attribute("method", method);
        if (media.Count == 0)
        {
            element.WithText(body);
        }
        else
        {
            if (!string.IsNullOrEmpty(body))
            {
                element.Add(new TwimlElement("Body").WithText(body));
            }

            foreach (var url in media)
            {
                element.Add(new TwimlElement("Media").WithText(url));
            }
        }

        _root.Add(element);
        return this;
    }

    /// <summary>The document as a string, declaration included.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder(256).Append(Declaration);
        using (var writer = XmlWriter.Create(builder, WriterSettings))
        {
            _root.WriteTo(writer);
        }

        return builder.ToString();
    }

    /// <summary>The document as UTF-8 bytes (no byte order mark).</summary>
    public byte[] ToUtf8Bytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteTo(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the document as UTF-8 (no byte order mark) into <paramref name="destination"/>.</summary>
    public void WriteTo(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var stream = new BufferWriterStream(destination);
        WriteTo(stream);
    }

    /// <summary>Writes the document as UTF-8 (no byte order mark) to <paramref name="destination"/>.</summary>
    public void WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Write(Utf8NoBom.GetBytes(Declaration));
        using var writer = XmlWriter.Create(destination, WriterSettings);
        _root.WriteTo(writer);
    }

    /// <summary>A write-only stream over an <see cref="IBufferWriter{T}"/>, so XmlWriter can encode straight into it.</summary>
    private sealed class BufferWriterStream(IBufferWriter<byte> destination) : WriteOnlyStream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => destination.Write(buffer);
    }
}
