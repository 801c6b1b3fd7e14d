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

    /// <summary>Turns the simulated call plays, each a 4 s utterance after a 5 s pause (the bot re-prompts only after 8 s).</summary>
    private const int SimulatedTurns = 2;

    private static readonly TimeSpan SimulatedPause = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Plays Twilio's side of the call the TwiML set up, at real time: <c>connected</c>, <c>start</c> with the
    /// TwiML's parameters, then two caller turns, each a 4 s Hebrew utterance after 5 s of silence once the bot
    /// has stopped talking; each turn must get audible bot audio within the first-audio budget.
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
        for (var turn = 1; turn <= SimulatedTurns; turn++)
        {
            var say = SayAfterPauseAsync(call, utterance, deadline.Token);
            if (await Task.WhenAny(say, call.Closed) != say)
            {
                throw new SmokeFailure($"the MediaWorker closed the stream before the caller's turn {turn} ended ({call.CloseStatus?.ToString() ?? "connection dropped"}" +
                    $"{(call.CloseStatusDescription is { } why ? ": " + why : "")}): was the start (token, callSid) rejected?");
            }

            await say;
            var heard = call.WaitForTurnAsync(turn, _options.FirstAudioBudget, deadline.Token);
            if (await Task.WhenAny(heard, call.Closed) != heard || !await heard)
            {
                var closed = call.Closed.IsCompleted ? $"the stream was closed ({call.CloseStatus?.ToString() ?? "dropped"})" : "the stream stayed open";
                throw new SmokeFailure($"turn {turn}: no bot audio within {_options.FirstAudioBudget.TotalSeconds:0.#} s of the end of the caller's " +
                    $"{Ms(TimeSpan.FromSeconds(utterance.Length / 8000.0))} ms utterance; {closed}; {call.Turns.Count} turn(s) answered before it");
            }
        }

        var latencies = call.Turns.Select(t => Ms(t.Latency)).ToList();
        var violations = call.ProtocolViolations;
        await call.HangUpAsync(deadline.Token);
        if (violations.Count > 0)
        {
            throw new SmokeFailure($"the bot sent what Twilio rejects (error 31924): {string.Join("; ", violations.Take(3))}");
        }
        return $"{SimulatedTurns} real-time turns ({Ms(TimeSpan.FromSeconds(utterance.Length / 8000.0))} ms utterance after a {SimulatedPause.TotalSeconds:0} s pause) " +
            $"answered {string.Join(" and ", latencies)} ms after the caller's last voiced frame";
    }

    /// <summary>Waits until the bot has stopped talking, stays silent for the pause, then says the utterance.</summary>
    private static async Task SayAfterPauseAsync(CallSimulator call, byte[] utterance, CancellationToken cancellationToken)
    {
        await call.UntilBotQuietAsync(TimeSpan.FromMilliseconds(300), cancellationToken);
        await call.SilenceAsync(SimulatedPause, cancellationToken);
        await call.SayAsync(utterance, cancellationToken);
    }

    private static byte[] CallerUtterance()
    {
        using var stream = typeof(SmokeRunner).Assembly.GetManifestResourceStream("AgentLocator.Smoke.caller_problem_4s_he.wav")
            ?? throw new InvalidOperationException("The caller utterance is not embedded in AgentLocator.Smoke.");
        return WavFile.Read(stream).ToMuLaw();
    }
}
