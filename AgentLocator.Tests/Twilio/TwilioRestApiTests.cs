using System.Net;
using System.Text;
using System.Text.Json;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Twilio;
using AgentLocator.Twilio.Rest;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.Tests.Twilio;

/// <summary>The SDK's REST client on our HttpClient, against a fake that answers as Twilio's documented REST API does.</summary>
public sealed class TwilioRestApiTests : IAsyncLifetime
{
    private const string CallSid = "CA0123456789abcdef0123456789abcdef";

    private FakeTwilioServer _twilio = null!;
    private ServiceProvider _services = null!;
    private TwilioRestApi _client = null!;

    public async Task InitializeAsync()
    {
        _twilio = await FakeTwilioServer.StartAsync();
        _services = BuildServices(_twilio.Configuration);
        _client = _services.GetRequiredService<TwilioRestApi>();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _twilio.DisposeAsync();
    }

    [Fact]
    public async Task RedirectPostsUrlAndMethodToTheCallWithBasicAuth()
    {
        var result = await _client.RedirectCallAsync(CallSid, "https://example.com/webhook/stream_ended");

        Assert.Equal(CallUpdateOutcome.Updated, result.Outcome);
        Assert.Equal("in-progress", result.Status);
        Assert.False(result.IsCallGone);
        var request = Assert.Single(_twilio.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/2010-04-01/Accounts/{FakeTwilioServer.DefaultAccountSid}/Calls/{CallSid}.json", request.Path);
        Assert.True(request.Authenticated);
        Assert.Equal("https://example.com/webhook/stream_ended", request.FormValue("Url"));
        Assert.Equal("POST", request.FormValue("Method"));
    }

    [Fact]
    public async Task InlineTwimlIsSentAsTheTwimlField()
    {
        var twiml = new global::Twilio.TwiML.VoiceResponse().Play(new Uri("https://example.com/fallback.wav")).ToString();

        var result = await _client.UpdateCallAsync(CallSid, CallUpdate.WithTwiml(twiml));

        Assert.Equal(CallUpdateOutcome.Updated, result.Outcome);
        Assert.Equal(twiml, Assert.Single(_twilio.Requests).FormValue("Twiml"));
    }

    [Fact]
    public async Task HangUpCompletesTheCall()
    {
        var result = await _client.HangUpCallAsync(CallSid);

        Assert.Equal("completed", result.Status);
        Assert.Equal("completed", Assert.Single(_twilio.Requests).FormValue("Status"));
        Assert.Equal("completed", _twilio.GetCall(CallSid)!.Status);
    }

    [Fact]
    public async Task CallThatIsGoneIsAResultNotAnException()
    {
        _twilio.RemoveCall(CallSid);

        var result = await _client.HangUpCallAsync(CallSid);

        Assert.Equal(CallUpdateOutcome.CallNotFound, result.Outcome);
        Assert.True(result.IsCallGone);
        Assert.Equal(20404, result.Error!.Code);
    }

    [Fact]
    public async Task RedirectingACompletedCallReportsItIsNotInProgress()
    {
        _twilio.CompleteCall(CallSid);

        var result = await _client.RedirectCallAsync(CallSid, "https://example.com/next");

        Assert.Equal(CallUpdateOutcome.CallNotInProgress, result.Outcome);
        Assert.True(result.IsCallGone);
        Assert.Equal(21220, result.Error!.Code);
    }

    [Fact]
    public void RelativeRedirectUrlIsRejectedBeforeAnyRequest()
    {
        Assert.Throws<ArgumentException>(() => CallUpdate.Redirect("/webhook/stream_ended"));
    }

    [Fact]
    public async Task WrongAuthTokenSurfacesTwilioError20003()
    {
        var config = new Dictionary<string, string?>(_twilio.Configuration) { ["Twilio:AuthToken"] = "wrong" };
        await using var services = BuildServices(config);

        var error = await Assert.ThrowsAsync<TwilioApiException>(() =>
            services.GetRequiredService<TwilioRestApi>().RedirectCallAsync(CallSid, "https://example.com/x"));

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Equal(20003, error.Code);
        Assert.False(Assert.Single(_twilio.Requests).Authenticated);
    }

    [Fact]
    public async Task SendMessagePostsEveryFieldAndReturnsTheSidAndStatus()
    {
        var result = await _client.SendMessageAsync(new TwilioMessage
        {
            To = "whatsapp:+972501234567",
            From = "whatsapp:+14155238886",
            Body = "ליד חדש: רחל כהן & בניה",
            MediaUrls = ["https://example.com/a.jpg", "https://example.com/b.jpg"],
            StatusCallback = "https://example.com/webhook/message_status",
        });

        Assert.StartsWith("SM", result.Sid, StringComparison.Ordinal);
        Assert.Equal("queued", result.Status);
        Assert.Null(result.ErrorCode);
        var request = Assert.Single(_twilio.Requests);
        Assert.Equal("whatsapp:+972501234567", request.FormValue("To"));
        Assert.Equal("whatsapp:+14155238886", request.FormValue("From"));
        Assert.Equal("ליד חדש: רחל כהן & בניה", request.FormValue("Body"));
        Assert.Equal(["https://example.com/a.jpg", "https://example.com/b.jpg"], request.FormValues("MediaUrl"));
        Assert.Equal("https://example.com/webhook/message_status", request.FormValue("StatusCallback"));
        Assert.Equal(result.Sid, Assert.Single(_twilio.Messages).Sid);
    }

    [Fact]
    public async Task TemplateMessageSendsContentSidAndVariablesAsJson()
    {
        await _client.SendMessageAsync(new TwilioMessage
        {
            To = "whatsapp:+972501234567",
            From = "whatsapp:+14155238886",
            ContentSid = "HX0123456789abcdef0123456789abcdef",
            ContentVariables = new Dictionary<string, string> { ["1"] = "רחל", ["2"] = "10:30" },
        });

        var message = Assert.Single(_twilio.Messages);
        Assert.Equal("HX0123456789abcdef0123456789abcdef", message.ContentSid);
        Assert.Null(message.Body);
        var variables = JsonSerializer.Deserialize<Dictionary<string, string>>(message.ContentVariables!)!;
        Assert.Equal("רחל", variables["1"]);
        Assert.Equal("10:30", variables["2"]);
    }

    [Fact]
    public async Task WhatsAppOutsideTheWindowSurfacesError63016()
    {
        _twilio.FailNext(1, FakeTwilioFailure.WhatsAppOutsideWindow(), pathContains: "Messages");

        var error = await Assert.ThrowsAsync<TwilioApiException>(() => _client.SendMessageAsync(new TwilioMessage
        {
            To = "whatsapp:+972501234567",
            From = "whatsapp:+14155238886",
            Body = "hello",
        }));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(63016, error.Code);
        Assert.Equal("https://www.twilio.com/docs/errors/63016", error.MoreInfo);
        Assert.Contains("outside the allowed window", error.Message, StringComparison.Ordinal);
        Assert.Empty(_twilio.Messages);
    }

    [Fact]
    public async Task InvalidToNumberSurfacesError21211()
    {
        var error = await Assert.ThrowsAsync<TwilioApiException>(() => _client.SendMessageAsync(new TwilioMessage
        {
            To = "0501234567",
            From = "+14155238886",
            Body = "hello",
        }));

        Assert.Equal(21211, error.Code);
    }

    [Fact]
    public async Task BodyLongerThan1600CharactersIsRejectedWithoutCallingTwilio()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _client.SendMessageAsync(new TwilioMessage
        {
            To = "+972501234567",
            From = "+14155238886",
            Body = new string('א', 1601),
        }));

        Assert.Empty(_twilio.Requests);
    }

    [Fact]
    public async Task MessageWithoutBodyMediaOrTemplateIsRejectedWithoutCallingTwilio()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _client.SendMessageAsync(new TwilioMessage
        {
            To = "+972501234567",
            From = "+14155238886",
        }));

        Assert.Empty(_twilio.Requests);
    }

    [Fact]
    public async Task RecordingIsNotReadyUntilTwilioStopsAnswering404()
    {
        var wav = Encoding.ASCII.GetBytes("RIFF....WAVEfmt fake audio");
        var recording = _twilio.AddRecording(wav, notReadyRequests: 2);

        var attempt1 = await DownloadAsync(recording.Url.ToString());
        var attempt2 = await DownloadAsync(recording.Url.ToString());
        Assert.True(attempt1.Result.IsNotReady);
        Assert.True(attempt2.Result.IsNotReady);
        Assert.Null(attempt1.File);

        var attempt3 = await DownloadAsync(recording.Url.ToString());

        Assert.Equal(RecordingDownloadStatus.Downloaded, attempt3.Result.Status);
        Assert.Equal(wav.Length, attempt3.Result.Bytes);
        Assert.Equal("audio/x-wav", attempt3.Result.ContentType);
        Assert.Equal(wav, attempt3.File);
        Assert.All(_twilio.Requests, r => Assert.EndsWith(recording.Sid + ".wav", r.Path, StringComparison.Ordinal));
        Assert.All(_twilio.Requests, r => Assert.True(r.Authenticated));
    }

    [Fact]
    public async Task Mp3FormatReplacesTheExtensionAndFetchesMp3()
    {
        var recording = _twilio.AddRecording([1, 2, 3], mp3: [4, 5, 6, 7]);

        var (result, file) = await DownloadAsync(recording.Url + ".wav", RecordingFormat.Mp3);

        Assert.Equal(4, result.Bytes);
        Assert.Equal("audio/mpeg", result.ContentType);
        Assert.Equal(new byte[] { 4, 5, 6, 7 }, file);
        Assert.EndsWith(recording.Sid + ".mp3", Assert.Single(_twilio.Requests).Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordingPathRelativeToTheApiIsAccepted()
    {
        var recording = _twilio.AddRecording([9, 9]);

        var (result, _) = await DownloadAsync(recording.Url.AbsolutePath);

        Assert.Equal(2, result.Bytes);
    }

    [Fact]
    public async Task RealTwilioRecordingUrlIsFetchedFromTheConfiguredApiBase()
    {
        var recording = _twilio.AddRecording([7]);

        var (result, file) = await DownloadAsync("https://api.twilio.com" + recording.Url.AbsolutePath);

        Assert.Equal(RecordingDownloadStatus.Downloaded, result.Status);
        Assert.Equal(new byte[] { 7 }, file);
    }

    [Fact]
    public async Task CredentialsAreNeverSentToAHostOtherThanTwilio()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            DownloadAsync("https://evil.example.com/2010-04-01/Accounts/AC1/Recordings/RE1"));

        Assert.Contains("evil.example.com", error.Message, StringComparison.Ordinal);
        Assert.Empty(_twilio.Requests);
    }

    [Fact]
    public async Task DownloadToFileLeavesNoFileWhileNotReadyAndTheWholeFileOnceReady()
    {
        var audio = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var recording = _twilio.AddRecording(audio, notReadyRequests: 1);
        var directory = Directory.CreateTempSubdirectory("agentlocator-recording-");
        try
        {
            var path = Path.Combine(directory.FullName, "voicemail.wav");

            var notReady = await _client.DownloadRecordingToFileAsync(recording.Url.ToString(), path);
            Assert.True(notReady.IsNotReady);
            Assert.Empty(directory.GetFiles());

            var downloaded = await _client.DownloadRecordingToFileAsync(recording.Url.ToString(), path);
            Assert.Equal(audio.Length, downloaded.Bytes);
            Assert.Equal(audio, await File.ReadAllBytesAsync(path));
            Assert.Single(directory.GetFiles());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ServerErrorOnAMessageIsNotRetriedAndSurfacesTheStatusAndCode()
    {
        _twilio.FailNext(1, FakeTwilioFailure.ServerError(), pathContains: "Messages");

        var error = await Assert.ThrowsAsync<TwilioApiException>(() => _client.SendMessageAsync(new TwilioMessage
        {
            To = "whatsapp:+972501234567",
            From = "whatsapp:+14155238886",
            Body = "hello",
        }));

        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal(20500, error.Code);
        Assert.Single(_twilio.Requests);
    }

    [Fact]
    public async Task TwilioOutOfReachIsAnHttpRequestException()
    {
        var config = new Dictionary<string, string?>(_twilio.Configuration) { ["Twilio:ApiBaseUrl"] = "http://127.0.0.1:1/" };
        await using var services = BuildServices(config);

        await Assert.ThrowsAsync<HttpRequestException>(() =>
            services.GetRequiredService<TwilioRestApi>().HangUpCallAsync(CallSid));
    }

    private async Task<(RecordingDownloadResult Result, byte[]? File)> DownloadAsync(string url, RecordingFormat format = RecordingFormat.Wav)
    {
        var path = Path.Combine(Path.GetTempPath(), $"agentlocator-recording-{Guid.NewGuid():N}.wav");
        try
        {
            var result = await _client.DownloadRecordingToFileAsync(url, path, format);
            return (result, File.Exists(path) ? await File.ReadAllBytesAsync(path) : null);
        }
        finally
        {
            File.Delete(path);
        }
    }

    internal static ServiceProvider BuildServices(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTwilio(configuration);
        return services.BuildServiceProvider();
    }
}
