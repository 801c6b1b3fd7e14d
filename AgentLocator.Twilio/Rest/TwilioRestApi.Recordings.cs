using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Twilio.Exceptions;

namespace AgentLocator.Twilio.Rest;

public sealed partial class TwilioRestApi
{
    private static readonly Uri TwilioApi = new("https://api.twilio.com/");

    /// <summary>
    /// Downloads a recording to <paramref name="filePath"/>, through a temporary file so a failed or not-ready
    /// download never leaves a partial file behind. <paramref name="recordingUrl"/> is the <c>RecordingUrl</c>
    /// Twilio posted (absolute, or a path on the API host); any <c>.wav</c>/<c>.mp3</c> extension is replaced by
    /// <paramref name="format"/>'s. The SDK reads bodies as text, so the audio comes through the same HttpClient
    /// directly; credentials are only ever sent to Twilio's API host (or the configured fake).
    /// </summary>
    /// <returns><see cref="RecordingDownloadStatus.NotReady"/> (nothing written) while Twilio still answers 404.</returns>
    public async Task<RecordingDownloadResult> DownloadRecordingToFileAsync(string recordingUrl, string filePath, RecordingFormat format = RecordingFormat.Wav, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        var account = Account;
        var uri = ResolveRecordingUri(recordingUrl, format);
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{account.AccountSid}:{account.AuthToken}")));

        using var response = await httpClients.CreateClient(HttpClientName)
            .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            LogRecordingNotReady(logger, uri.AbsolutePath);
            return new RecordingDownloadResult(RecordingDownloadStatus.NotReady, 0, null);
        }

        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var error = TryParseError(body);
            LogRequestFailed(logger, (int)response.StatusCode, error?.Code);
            throw new TwilioApiException(response.StatusCode, error?.Code, error?.Message ?? $"Twilio answered HTTP {(int)response.StatusCode} for the recording.", error?.MoreInfo);
        }

        var temporary = filePath + "." + Guid.NewGuid().ToString("N") + ".part";
        try
        {
            long bytes;
            var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                await response.Content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                bytes = file.Length;
            }

            File.Move(temporary, filePath, overwrite: true);
            LogRecordingDownloaded(logger, uri.AbsolutePath, bytes);
            return new RecordingDownloadResult(RecordingDownloadStatus.Downloaded, bytes, response.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    internal Uri ResolveRecordingUri(string recordingUrl, RecordingFormat format)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(recordingUrl);
        Uri uri;
        if (recordingUrl.StartsWith('/'))
        {
            uri = new Uri(TwilioApi, recordingUrl);
        }
        else if (Uri.TryCreate(recordingUrl, UriKind.Absolute, out var absolute) && (absolute.Scheme == Uri.UriSchemeHttps || absolute.Scheme == Uri.UriSchemeHttp))
        {
            var configured = options.CurrentValue.ApiBaseUrl;
            uri = TwilioApiBaseUrlHandler.IsTwilioHost(absolute.Host)
                || Uri.Compare(absolute, configured, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0
                    ? absolute
                    : throw new ArgumentException($"Refusing to send Twilio credentials to '{absolute.Host}': a recording URL must be on the Twilio API host.", nameof(recordingUrl));
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

    private static RestException? TryParseError(string body)
    {
        try
        {
            return RestException.FromJson(body);
        }
        catch (Newtonsoft.Json.JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 4104, EventName = "TWILIO_RECORDING_NOT_READY", Level = LogLevel.Information, Message = "Twilio recording {RecordingPath} is not ready yet (404)")]
    private static partial void LogRecordingNotReady(ILogger logger, string recordingPath);

    [LoggerMessage(EventId = 4105, EventName = "TWILIO_RECORDING_DOWNLOADED", Level = LogLevel.Information, Message = "Twilio recording {RecordingPath} downloaded ({Bytes} bytes)")]
    private static partial void LogRecordingDownloaded(ILogger logger, string recordingPath, long bytes);
}
