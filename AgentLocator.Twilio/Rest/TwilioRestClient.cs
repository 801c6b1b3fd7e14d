using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentLocator.Twilio.Rest;

/// <summary>
/// The subset of Twilio's REST API AgentLocator uses (API version 2010-04-01, form bodies, HTTP Basic
/// auth with AccountSid:AuthToken). A typed <see cref="HttpClient"/>: register it with
/// <see cref="TwilioServiceCollectionExtensions.AddTwilio"/>. Errors become <see cref="TwilioApiException"/>.
/// </summary>
public sealed partial class TwilioRestClient
{
    private const string ApiVersion = "2010-04-01";

    // Same name as AgentLocator.ServiceDefaults.Http.HttpResilience.RetryNonIdempotentOptionName (no project reference here).
    private static readonly HttpRequestOptionsKey<bool> RetryNonIdempotentOption = new("AgentLocator.Http.RetryNonIdempotent");

    private readonly HttpClient _http;
    private readonly IOptionsMonitor<TwilioOptions> _options;
    private readonly ILogger<TwilioRestClient> _logger;

    /// <summary>Created by the HttpClient factory.</summary>
    public TwilioRestClient(HttpClient http, IOptionsMonitor<TwilioOptions> options, ILogger<TwilioRestClient> logger)
    {
        _http = http;
        _options = options;
        _logger = logger;
    }

    /// <summary>
    /// Redirects, re-scripts or ends a live call (<c>POST /Accounts/{AccountSid}/Calls/{CallSid}.json</c>).
    /// A call that is already gone (404 / 20404, or 21220 "not in progress") is a result, not an exception,
    /// so hang-up paths can treat it as done.
    /// </summary>
    public async Task<CallUpdateResult> UpdateCallAsync(string callSid, CallUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(callSid);
        ArgumentNullException.ThrowIfNull(update);

        using var request = NewRequest(HttpMethod.Post, AccountUri($"Calls/{Uri.EscapeDataString(callSid)}.json"));
        request.Content = new FormUrlEncodedContent(update.Form);

        // Repeating a call update is harmless (the same redirect or hang-up twice; a finished call answers
        // 21220), so let the HttpClient resilience handler retry it after a 5xx or timeout too.
        request.Options.Set(RetryNonIdempotentOption, true);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);

        if (response.IsSuccessStatusCode)
        {
            var status = ReadString(body, "status");
            LogCallUpdated(_logger, callSid, update.Description, status);
            return new CallUpdateResult(CallUpdateOutcome.Updated, callSid, status);
        }

        var error = TwilioApiException.FromResponse(response.StatusCode, body);
        if (response.StatusCode == HttpStatusCode.NotFound || error.Code == 20404)
        {
            LogCallGone(_logger, callSid, update.Description, error.Code);
            return new CallUpdateResult(CallUpdateOutcome.CallNotFound, callSid, null, error);
        }

        if (error.Code == 21220)
        {
            LogCallGone(_logger, callSid, update.Description, error.Code);
            return new CallUpdateResult(CallUpdateOutcome.CallNotInProgress, callSid, null, error);
        }

        LogRequestFailed(_logger, "call update", (int)response.StatusCode, error.Code);
        throw error;
    }

    /// <summary>Makes Twilio fetch new TwiML for the call from <paramref name="url"/>.</summary>
    public Task<CallUpdateResult> RedirectCallAsync(string callSid, string url, string method = "POST", CancellationToken cancellationToken = default) =>
        UpdateCallAsync(callSid, CallUpdate.Redirect(url, method), cancellationToken);

    /// <summary>Ends the call; a call that is already gone counts as done (<see cref="CallUpdateResult.IsCallGone"/>).</summary>
    public Task<CallUpdateResult> HangUpCallAsync(string callSid, CancellationToken cancellationToken = default) =>
        UpdateCallAsync(callSid, CallUpdate.Complete(), cancellationToken);

    /// <summary>Sends an SMS or WhatsApp message (<c>POST /Accounts/{AccountSid}/Messages.json</c>).</summary>
    /// <exception cref="ArgumentException">The message is incomplete or its body is longer than 1600 characters.</exception>
    /// <exception cref="TwilioApiException">Twilio refused it (e.g. 21211 invalid number, 63016 outside the WhatsApp window).</exception>
    public async Task<TwilioMessageResult> SendMessageAsync(TwilioMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var form = BuildMessageForm(message);

        using var request = NewRequest(HttpMethod.Post, AccountUri("Messages.json"));
        request.Content = new FormUrlEncodedContent(form);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);

        if (!response.IsSuccessStatusCode)
        {
            var error = TwilioApiException.FromResponse(response.StatusCode, body);
            LogRequestFailed(_logger, "message create", (int)response.StatusCode, error.Code);
            throw error;
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var result = new TwilioMessageResult(
            GetString(root, "sid") ?? throw new TwilioApiException(response.StatusCode, null, "Twilio's message response has no sid."),
            GetString(root, "status") ?? "unknown",
            root.TryGetProperty("error_code", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : null,
            GetString(root, "error_message"));
        LogMessageSent(_logger, result.Sid, Redact(message.To), result.Status);
        return result;
    }

    /// <summary>
    /// Downloads a recording into <paramref name="destination"/>. <paramref name="recordingUrl"/> is the
    /// <c>RecordingUrl</c> Twilio posted (absolute, or a path on the API host); any <c>.wav</c>/<c>.mp3</c>
    /// extension is replaced by <paramref name="format"/>'s. Credentials are only ever sent to the API host.
    /// </summary>
    /// <returns><see cref="RecordingDownloadStatus.NotReady"/> (nothing written) while Twilio still answers 404.</returns>
    public async Task<RecordingDownloadResult> DownloadRecordingAsync(string recordingUrl, Stream destination, RecordingFormat format = RecordingFormat.Wav, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var uri = ResolveRecordingUri(recordingUrl, format);

        using var request = NewRequest(HttpMethod.Get, uri);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            LogRecordingNotReady(_logger, uri.AbsolutePath);
            return new RecordingDownloadResult(RecordingDownloadStatus.NotReady, 0, null);
        }

        if (!response.IsSuccessStatusCode)
        {
            var error = TwilioApiException.FromResponse(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            LogRequestFailed(_logger, "recording download", (int)response.StatusCode, error.Code);
            throw error;
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var counting = new CountingStream(destination);
            await stream.CopyToAsync(counting, cancellationToken).ConfigureAwait(false);
            LogRecordingDownloaded(_logger, uri.AbsolutePath, counting.Written);
            return new RecordingDownloadResult(RecordingDownloadStatus.Downloaded, counting.Written, response.Content.Headers.ContentType?.MediaType);
        }
    }

    /// <summary>
    /// Downloads a recording to <paramref name="filePath"/>, through a temporary file so a failed or
    /// not-ready download never leaves a partial file behind.
    /// </summary>
    public async Task<RecordingDownloadResult> DownloadRecordingToFileAsync(string recordingUrl, string filePath, RecordingFormat format = RecordingFormat.Wav, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        var temporary = filePath + "." + Guid.NewGuid().ToString("N") + ".part";
        try
        {
            RecordingDownloadResult result;
            var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                result = await DownloadRecordingAsync(recordingUrl, file, format, cancellationToken).ConfigureAwait(false);
            }

            if (result.Status == RecordingDownloadStatus.Downloaded)
            {
                File.Move(temporary, filePath, overwrite: true);
            }

            return result;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    internal Uri ResolveRecordingUri(string recordingUrl, RecordingFormat format)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(recordingUrl);
        var apiBase = ApiBase();
        Uri uri;
        if (recordingUrl.StartsWith('/'))
        {
            uri = new Uri(apiBase, recordingUrl);
        }
        else if (Uri.TryCreate(recordingUrl, UriKind.Absolute, out var absolute) && (absolute.Scheme == Uri.UriSchemeHttps || absolute.Scheme == Uri.UriSchemeHttp))
        {
            if (Uri.Compare(absolute, apiBase, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                uri = absolute;
            }
            else if (IsTwilioHost(absolute.Host))
            {
                // A real Twilio URL while the API base points elsewhere (a local fake in tests): same path there.
                uri = IsTwilioHost(apiBase.Host) ? absolute : new Uri(apiBase, absolute.PathAndQuery);
            }
            else
            {
                throw new ArgumentException($"Refusing to send Twilio credentials to '{absolute.Host}': a recording URL must be on the Twilio API host.", nameof(recordingUrl));
            }
        }
        else
        {
            throw new ArgumentException($"Not a recording URL: '{recordingUrl}'.", nameof(recordingUrl));
        }

        var path = uri.AbsolutePath;
        foreach (var extension in (ReadOnlySpan<string>)[".wav", ".mp3", ".json"])
        {
            if (path.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
            {
                path = path[..^extension.Length];
                break;
            }
        }

        return new UriBuilder(uri) { Path = path + (format == RecordingFormat.Mp3 ? ".mp3" : ".wav") }.Uri;
    }

    internal static List<KeyValuePair<string, string>> BuildMessageForm(TwilioMessage message)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(message.To, nameof(message.To));
        ArgumentException.ThrowIfNullOrWhiteSpace(message.From, nameof(message.From));
        var hasTemplate = !string.IsNullOrWhiteSpace(message.ContentSid);
        if (string.IsNullOrEmpty(message.Body) && message.MediaUrls.Count == 0 && !hasTemplate)
        {
            throw new ArgumentException("A message needs a Body, a MediaUrl or a ContentSid.", nameof(message));
        }

        if (message.Body is { Length: > TwilioMessage.MaxBodyLength })
        {
            throw new ArgumentException($"The message body is {message.Body.Length} characters; Twilio accepts at most {TwilioMessage.MaxBodyLength}.", nameof(message));
        }

        if (message.ContentVariables is not null && !hasTemplate)
        {
            throw new ArgumentException("ContentVariables need a ContentSid.", nameof(message));
        }

        var form = new List<KeyValuePair<string, string>> { new("To", message.To), new("From", message.From) };
        if (!string.IsNullOrEmpty(message.Body))
        {
            form.Add(new("Body", message.Body));
        }

        foreach (var mediaUrl in message.MediaUrls)
        {
            form.Add(new("MediaUrl", mediaUrl));
        }

        if (!string.IsNullOrWhiteSpace(message.StatusCallback))
        {
            form.Add(new("StatusCallback", message.StatusCallback));
        }

        if (hasTemplate)
        {
            form.Add(new("ContentSid", message.ContentSid!));
            if (message.ContentVariables is not null)
            {
                form.Add(new("ContentVariables", JsonSerializer.Serialize(message.ContentVariables)));
            }
        }

        return form;
    }

    private HttpRequestMessage NewRequest(HttpMethod method, Uri uri)
    {
        var options = _options.CurrentValue;
        if (string.IsNullOrEmpty(options.AccountSid) || string.IsNullOrEmpty(options.AuthToken))
        {
            throw new InvalidOperationException("Twilio:AccountSid and Twilio:AuthToken must be configured to call the Twilio REST API.");
        }

        var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.AccountSid}:{options.AuthToken}")));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    private Uri ApiBase()
    {
        var configured = _options.CurrentValue.ApiBaseUrl;
        return configured.AbsoluteUri.EndsWith('/') ? configured : new Uri(configured.AbsoluteUri + "/");
    }

    private Uri AccountUri(string relative) =>
        new(ApiBase(), $"{ApiVersion}/Accounts/{Uri.EscapeDataString(_options.CurrentValue.AccountSid)}/{relative}");

    private static bool IsTwilioHost(string host) =>
        host.Equals("twilio.com", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".twilio.com", StringComparison.OrdinalIgnoreCase);

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? ReadString(string body, string name)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object ? GetString(document.RootElement, name) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Keeps a number's channel prefix and last three digits: <c>whatsapp:**********567</c>.</summary>
    internal static string Redact(string number)
    {
        var prefixEnd = number.IndexOf(':', StringComparison.Ordinal) + 1;
        var digits = number.Length - prefixEnd;
        if (digits <= 3)
        {
            return number;
        }

        return string.Concat(number.AsSpan(0, prefixEnd), new string('*', digits - 3), number.AsSpan(number.Length - 3));
    }

    [LoggerMessage(EventId = 4101, EventName = "TWILIO_CALL_UPDATED", Level = LogLevel.Information, Message = "Twilio call {CallSid} updated ({Update}); status {CallStatus}")]
    private static partial void LogCallUpdated(ILogger logger, string callSid, string update, string? callStatus);

    [LoggerMessage(EventId = 4102, EventName = "TWILIO_CALL_GONE", Level = LogLevel.Information, Message = "Twilio call {CallSid} is already gone ({Update}, Twilio error {TwilioCode})")]
    private static partial void LogCallGone(ILogger logger, string callSid, string update, int? twilioCode);

    [LoggerMessage(EventId = 4103, EventName = "TWILIO_MESSAGE_SENT", Level = LogLevel.Information, Message = "Twilio message {MessageSid} to {To} created with status {MessageStatus}")]
    private static partial void LogMessageSent(ILogger logger, string messageSid, string to, string messageStatus);

    [LoggerMessage(EventId = 4104, EventName = "TWILIO_RECORDING_NOT_READY", Level = LogLevel.Information, Message = "Twilio recording {RecordingPath} is not ready yet (404)")]
    private static partial void LogRecordingNotReady(ILogger logger, string recordingPath);

    [LoggerMessage(EventId = 4105, EventName = "TWILIO_RECORDING_DOWNLOADED", Level = LogLevel.Information, Message = "Twilio recording {RecordingPath} downloaded ({Bytes} bytes)")]
    private static partial void LogRecordingDownloaded(ILogger logger, string recordingPath, long bytes);

    [LoggerMessage(EventId = 4106, EventName = "TWILIO_REQUEST_FAILED", Level = LogLevel.Warning, Message = "Twilio {Operation} failed with HTTP {StatusCode}, Twilio error {TwilioCode}")]
    private static partial void LogRequestFailed(ILogger logger, string operation, int statusCode, int? twilioCode);

    /// <summary>Passes writes through and counts them.</summary>
    private sealed class CountingStream(Stream inner) : WriteOnlyStream
    {
        public long Written { get; private set; }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Written += count;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            Written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
