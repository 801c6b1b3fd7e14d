using System.Diagnostics;
using AgentLocator.Media;
using AgentLocator.Testing.MediaStreams;

namespace AgentLocator.Smoke;

public sealed partial class SmokeRunner
{
    private const string MediaPath = "/ws/twilio-media";

    /// <summary><c>--media-url</c>, else the stream URL the incoming_call TwiML gave Twilio, else the Api's host (an ingress routes <c>/ws/*</c> on).</summary>
    private Uri? MediaSocketUrl()
    {
        if (_options.MediaUrl is { } configured)
        {
            return configured;
        }
        if (_twiml?.StreamUrl is { } fromTwiml && Uri.TryCreate(fromTwiml, UriKind.Absolute, out var stream))
        {
            return stream;
        }
        if (_options.MediaWorkerUrl is { } worker)
        {
            return new UriBuilder(worker) { Scheme = worker.Scheme == "https" ? "wss" : "ws", Path = MediaPath, Query = "" }.Uri;
        }
        var api = _options.BaseUrl;
        return new UriBuilder(api) { Scheme = api.Scheme == "https" ? "wss" : "ws", Path = MediaPath, Query = "" }.Uri;
    }

    private static Uri WithPath(Uri uri, string path) => new UriBuilder(uri) { Path = path, Query = "", Fragment = "" }.Uri;

    private async Task CheckMediaAsync(CancellationToken cancellationToken)
    {
        var media = MediaSocketUrl()!;
        foreach (var (name, path) in new[] { ("media.handshake", MediaPath), ("media.handshake.slash", MediaPath + "/") })
        {
            var url = WithPath(media, path);
            await CheckAsync(name, async ct =>
            {
                var result = await WebSocketHandshake.ProbeAsync(url, _options.RequestTimeout, ct);
                if (result.Status != 101)
                {
                    throw new SmokeFailure($"{url} answered '{result.StatusLine}', not 101 (Twilio error 31920)");
                }
                if (!result.AcceptValid)
                {
                    throw new SmokeFailure($"{url} answered 101 with a wrong Sec-WebSocket-Accept");
                }
                return $"101 from {url} in {Ms(result.Elapsed)} ms";
            }, cancellationToken);
        }

        if (_twiml is null)
        {
            Skip("media.call", CalledNumber is null
                ? "needs the stream parameters of a real incoming_call: give --api-key or --business-number"
                : "the incoming_call TwiML did not pass, so there are no stream parameters to start a call with");
            return;
        }
        await CheckAsync("media.call", ct => SimulateCallAsync(WithPath(media, MediaPath), _twiml, ct), cancellationToken);
    }

    /// <summary>
    /// Plays Twilio's side of the call the TwiML set up: <c>connected</c>, <c>start</c> with the TwiML's parameters,
    /// one caller turn (a short Hebrew utterance), then waits for the bot's first audio.
    /// </summary>
    private async Task<string> SimulateCallAsync(Uri url, IncomingCallTwiml twiml, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.SimulatedCallTimeout);
        var options = new CallSimulatorOptions
        {
            CallSid = _callSid,
            AccountSid = _accountSid,
            StreamSid = _streamSid,
            CustomParameters = new Dictionary<string, string>(twiml.Parameters, StringComparer.Ordinal),
        };
        await using var call = await CallSimulator.ConnectAsync(url, options, deadline.Token);
        var utterance = CallerUtterance();
        var say = call.SayAsync(utterance, deadline.Token);
        if (await Task.WhenAny(say, call.Closed) != say)
        {
            throw new SmokeFailure($"the MediaWorker closed the stream during the caller's turn ({call.CloseStatus?.ToString() ?? "connection dropped"}): " +
                "was the start (token, callSid) rejected?");
        }
        await say;
        var waited = Stopwatch.StartNew();
        var heard = call.WaitForBotAudioAsync(_options.FirstAudioBudget, deadline.Token);
        if (await Task.WhenAny(heard, call.Closed) != heard || !await heard)
        {
            var closed = call.Closed.IsCompleted ? $"the stream was closed ({call.CloseStatus?.ToString() ?? "dropped"})" : "the stream stayed open";
            var audio = call.Received.Count(m => m.Kind == BotMessageKind.Media);
            throw new SmokeFailure($"no bot audio within {_options.FirstAudioBudget.TotalSeconds:0.#} s of the end of the caller's turn; {closed}; " +
                $"{audio} audio message(s) arrived in all, none after the turn ended");
        }
        var latency = call.Turns.FirstOrDefault()?.Latency ?? waited.Elapsed;
        var violations = call.ProtocolViolations;
        await call.HangUpAsync(deadline.Token);
        if (violations.Count > 0)
        {
            throw new SmokeFailure($"the bot sent what Twilio rejects (error 31924): {string.Join("; ", violations.Take(3))}");
        }
        return $"first bot audio {Ms(latency)} ms after the caller's {Ms(TimeSpan.FromSeconds(utterance.Length / 8000.0))} ms turn";
    }

    private static byte[] CallerUtterance()
    {
        using var stream = typeof(SmokeRunner).Assembly.GetManifestResourceStream("AgentLocator.Smoke.caller_name_he.wav")
            ?? throw new InvalidOperationException("The caller utterance is not embedded in AgentLocator.Smoke.");
        return WavFile.Read(stream).ToMuLaw();
    }
}
