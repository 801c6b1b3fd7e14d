using System.Net;
using System.Security.Cryptography;
using AgentLocator.Twilio.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>
/// A local fake of the Twilio REST API: a real Kestrel server on <c>127.0.0.1</c> and a random port,
/// implementing what AgentLocator calls (call update, message create/fetch, recording download).
/// It checks Basic auth (401 / 20003), validates required fields like Twilio (21604, 21603, 21602,
/// 21617, 21211), answers Twilio-shaped JSON, records every request, and can be scripted to fail
/// (<see cref="FailNext"/>). It can also act as Twilio towards the app: <see cref="SendMessageStatusAsync"/>
/// posts a signed status callback and <see cref="CreateWebhookRequest"/> signs any webhook request.
/// </summary>
/// <example>
/// <code>
/// await using var twilio = await FakeTwilioServer.StartAsync();
/// // point the app at it: Twilio:AccountSid / Twilio:AuthToken / Twilio:ApiBaseUrl
/// foreach (var (key, value) in twilio.Configuration) builder.UseSetting(key, value);
/// twilio.FailNext(1, FakeTwilioFailure.TooManyRequests());
/// ... run the code under test ...
/// var sent = Assert.Single(twilio.Messages);
/// </code>
/// </example>
public sealed partial class FakeTwilioServer : IAsyncDisposable
{
    /// <summary>The account SID the fake accepts unless told otherwise.</summary>
    public const string DefaultAccountSid = "AC0123456789abcdef0123456789abcdef";

    /// <summary>The auth token the fake accepts unless told otherwise.</summary>
    public const string DefaultAuthToken = "fake-twilio-auth-token-0123456789";

    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly List<FakeTwilioRequest> _requests = [];
    private readonly List<ScriptedFailure> _failures = [];
    private readonly Dictionary<string, FakeTwilioCall> _calls = new(StringComparer.Ordinal);
    private readonly List<FakeTwilioMessage> _messages = [];
    private readonly Dictionary<string, FakeTwilioRecording> _recordings = new(StringComparer.Ordinal);
    private readonly List<(Func<FakeTwilioRequest, bool> Predicate, TaskCompletionSource<FakeTwilioRequest> Waiter)> _waiters = [];
    private readonly HttpClient _ownCallbackClient = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly TwilioRequestSigner _signer;

    private FakeTwilioServer(WebApplication app, string accountSid, string authToken)
    {
        _app = app;
        AccountSid = accountSid;
        AuthToken = authToken;
        _signer = new TwilioRequestSigner(authToken);
        CallbackClient = _ownCallbackClient;
    }

    /// <summary>The account SID it accepts.</summary>
    public string AccountSid { get; }

    /// <summary>The auth token it accepts (and signs callbacks with).</summary>
    public string AuthToken { get; }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:41234/</c>; use as <c>Twilio:ApiBaseUrl</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>
    /// The client that delivers callbacks to the app (<see cref="SendMessageStatusAsync"/>). Defaults to a
    /// plain client for apps on a real port; set it to <c>WebApplicationFactory.CreateClient()</c> to reach an
    /// in-memory test server (then use its <c>http://localhost/...</c> URLs as <c>StatusCallback</c>).
    /// </summary>
    public HttpClient CallbackClient { get; set; }

    /// <summary>When <see langword="true"/> (the default) an unknown CallSid is treated as a live call; otherwise it is 404 / 20404.</summary>
    public bool UnknownCallsAreInProgress { get; set; } = true;

    /// <summary>Configuration that points AgentLocator's Twilio client at this fake (<c>Twilio:*</c> keys).</summary>
    public IReadOnlyDictionary<string, string?> Configuration => new Dictionary<string, string?>
    {
        ["Twilio:AccountSid"] = AccountSid,
        ["Twilio:AuthToken"] = AuthToken,
        ["Twilio:ApiBaseUrl"] = BaseUrl.ToString(),
    };

    /// <summary>Every request received so far, oldest first.</summary>
    public IReadOnlyList<FakeTwilioRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return _requests.ToList();
            }
        }
    }

    /// <summary>Every message created so far, oldest first.</summary>
    public IReadOnlyList<FakeTwilioMessage> Messages
    {
        get
        {
            lock (_gate)
            {
                return _messages.ToList();
            }
        }
    }

    /// <summary>Starts a fake on a random loopback port.</summary>
    public static async Task<FakeTwilioServer> StartAsync(string accountSid = DefaultAccountSid, string authToken = DefaultAuthToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeTwilioServer(app, accountSid, authToken);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>
    /// Makes the next <paramref name="count"/> authenticated requests (whose path contains
    /// <paramref name="pathContains"/>, if given) answer with <paramref name="failure"/>.
    /// </summary>
    public void FailNext(int count, FakeTwilioFailure failure, string? pathContains = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentNullException.ThrowIfNull(failure);
        lock (_gate)
        {
            _failures.Add(new ScriptedFailure(failure, pathContains) { Remaining = count });
        }
    }

    /// <summary>Registers a live call (status <c>in-progress</c> unless given).</summary>
    public FakeTwilioCall AddCall(string callSid, string status = "in-progress")
    {
        lock (_gate)
        {
            var call = new FakeTwilioCall(callSid, status);
            _calls[callSid] = call;
            return call;
        }
    }

    /// <summary>Marks a call as ended: redirecting it then fails with 21220.</summary>
    public void CompleteCall(string callSid)
    {
        lock (_gate)
        {
            GetOrAddCall(callSid).Status = "completed";
        }
    }

    /// <summary>Makes a call unknown: updating it then fails with 404 / 20404.</summary>
    public void RemoveCall(string callSid)
    {
        lock (_gate)
        {
            GetOrAddCall(callSid).Gone = true;
        }
    }

    /// <summary>The call with this SID, if the fake has seen it.</summary>
    public FakeTwilioCall? GetCall(string callSid)
    {
        lock (_gate)
        {
            return _calls.GetValueOrDefault(callSid);
        }
    }

    /// <summary>
    /// Adds a recording; its first <paramref name="notReadyRequests"/> downloads answer 404 (still
    /// processing). <paramref name="mp3"/> defaults to the WAV bytes.
    /// </summary>
    public FakeTwilioRecording AddRecording(byte[] wav, byte[]? mp3 = null, int notReadyRequests = 0)
    {
        ArgumentNullException.ThrowIfNull(wav);
        var sid = "RE" + RandomNumberGenerator.GetHexString(32, lowercase: true);
        var url = new Uri(BaseUrl, $"2010-04-01/Accounts/{AccountSid}/Recordings/{sid}");
        var recording = new FakeTwilioRecording(sid, url, wav, mp3 ?? wav, notReadyRequests);
        lock (_gate)
        {
            _recordings[sid] = recording;
        }

        return recording;
    }

    /// <summary>Makes a recording downloadable from now on.</summary>
    public void SetRecordingReady(string recordingSid)
    {
        lock (_gate)
        {
            _recordings[recordingSid].NotReadyRequests = 0;
        }
    }

    /// <summary>Waits for a request matching <paramref name="predicate"/> (already received or future).</summary>
    public async Task<FakeTwilioRequest> WaitForRequestAsync(Func<FakeTwilioRequest, bool> predicate, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var waiter = new TaskCompletionSource<FakeTwilioRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var existing = _requests.FirstOrDefault(predicate);
            if (existing is not null)
            {
                return existing;
            }

            _waiters.Add((predicate, waiter));
        }

        return await waiter.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    /// <summary>
    /// Posts a message status callback to the message's <c>StatusCallback</c>, signed like Twilio
    /// (<c>MessageSid, MessageStatus, ErrorCode, AccountSid, From, To</c>). Returns the app's status code.
    /// </summary>
    public async Task<HttpStatusCode> SendMessageStatusAsync(string messageSid, string status, int? errorCode = null, CancellationToken cancellationToken = default)
    {
        FakeTwilioMessage message;
        lock (_gate)
        {
            message = _messages.Single(m => m.Sid == messageSid);
        }

        if (message.StatusCallback is null)
        {
            throw new InvalidOperationException($"Message {messageSid} was created without a StatusCallback.");
        }

        var form = new List<KeyValuePair<string, string>>
        {
            new("AccountSid", AccountSid),
            new("ApiVersion", "2010-04-01"),
            new("From", message.From),
            new("MessageSid", message.Sid),
            new("MessageStatus", status),
            new("SmsSid", message.Sid),
            new("SmsStatus", status),
            new("To", message.To),
        };
        if (errorCode is not null)
        {
            form.Add(new("ErrorCode", errorCode.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        using var request = CreateWebhookRequest(message.StatusCallback, form);
        using var response = await CallbackClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return response.StatusCode;
    }

    /// <summary>
    /// A form POST to <paramref name="url"/> signed with this fake's auth token (<c>X-Twilio-Signature</c>),
    /// as Twilio sends webhooks; pass <paramref name="signedUrl"/> when the public URL Twilio would
    /// sign differs from the address the request goes to.
    /// </summary>
    public HttpRequestMessage CreateWebhookRequest(string url, IEnumerable<KeyValuePair<string, string>> form, string? signedUrl = null)
    {
        var fields = form.ToList();
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Add(TwilioSignatureValidator.SignatureHeader, _signer.Sign(signedUrl ?? url, fields));
        request.Headers.Add("I-Twilio-Idempotency-Token", Guid.NewGuid().ToString());
        request.Headers.UserAgent.ParseAdd("TwilioProxy/1.1");
        return request;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _ownCallbackClient.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var (_, waiter) in _waiters)
            {
                waiter.TrySetCanceled();
            }
        }
    }

    private FakeTwilioCall GetOrAddCall(string callSid)
    {
        if (!_calls.TryGetValue(callSid, out var call))
        {
            call = new FakeTwilioCall(callSid, "in-progress");
            _calls[callSid] = call;
        }

        return call;
    }
}
