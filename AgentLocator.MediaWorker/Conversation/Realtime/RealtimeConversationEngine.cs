using System.Diagnostics;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Model;
using AgentLocator.Media;
using OpenAI.Realtime;

#pragma warning disable OPENAI002 // OpenAI.Realtime is experimental in the 2.x SDK.

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// The AI receptionist: one OpenAI Realtime session per call, speech to speech in Hebrew over G.711 mu-law 8 kHz
/// both ways (what Twilio carries; nothing is resampled). The provider's turn detection answers the caller; this
/// engine streams every caller frame to it, plays its audio as it arrives, truncates a reply the caller talked
/// over to what they heard, runs the CRM tools, and keeps the transcript.
/// <para>
/// This file is the call's life: start (the business's settings, the connection, or the offline intake when the
/// AI is off or cannot connect), the seam members the pipeline calls, the no-reply guard, handing over, and the
/// end. The provider's events are handled in <c>.Provider.cs</c>, the tools in <c>.Tools.cs</c>, the transcript
/// in <c>.Transcript.cs</c>.
/// </para>
/// <para>
/// Two threads touch it: the call's receive loop (the seam members) and the provider's receive loop (events).
/// Their shared state is under <see cref="_gate"/>, which is never held while calling the pipeline.
/// </para>
/// </summary>
public sealed partial class RealtimeConversationEngine : IStreamingConversationEngine
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SemanticTurnEndWindow = TimeSpan.FromSeconds(3);

    private readonly ConversationContext _call;
    private readonly RealtimeEngineServices _services;
    private readonly RealtimeOptions _options;
    private readonly ILogger _logger;
    private readonly ConversationWrites _writes;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly TimeSpan _turnEndWindow;

    private IConversationOutput? _output;
    private ReceptionistProfile? _profile;
    private RealtimeProviderSession? _provider;
    private Task _receiveLoop = Task.CompletedTask;
    private IConversationEngine? _fallback;
    private bool _fallbackStarted;
    private volatile bool _streaming;
    private string? _fallbackReason;

    /// <summary>A tool ended the conversation (its goodbye or the voicemail transfer plays): no guard, no hand-over.</summary>
    private bool _ending;

    /// <summary>The lead as saved so far (save_lead); what the intake need not ask again.</summary>
    private LeadFields _lead = LeadFields.Empty;
    private bool _leadSaved;

    /// <summary>The no-reply guard: the stream time by which the bot's audio must have begun (null when nothing is awaited).</summary>
    private TimeSpan? _replyDueBy;

    /// <summary>When the awaited reply was asked for (the caller's end of speech, a tool result): for the latency metric.</summary>
    private TimeSpan _awaitingSince;

    /// <summary>The stream time of the last audio from the provider.</summary>
    private TimeSpan _lastAudioAt = TimeSpan.MinValue;

    /// <summary>The stream time (ticks) where the provider's input audio begins: its clock's zero (-1 before the first frame went).</summary>
    private long _inputOriginTicks = -1;

    /// <summary>The stream time of the last frame the local detector heard the caller speaking in (receive loop only).</summary>
    private TimeSpan? _callerHeardAt;

    private TimeSpan? InputOrigin => Volatile.Read(ref _inputOriginTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;

    public RealtimeConversationEngine(ConversationContext call, RealtimeEngineServices services)
    {
        _call = call;
        _services = services;
        _options = services.Options;
        _logger = services.Logger;
        _writes = new ConversationWrites(call.CallSid, _options.WriteTimeout, _logger);
        // Semantic VAD waits as long as the words sound unfinished: seconds, not its silence setting.
        _turnEndWindow = _options.TurnDetection == RealtimeOptions.SemanticVad ? SemanticTurnEndWindow : _options.VadSilence;
    }

    public bool IsStreaming => _streaming;

    /// <summary>Why the AI receptionist handed the call over, once it did.</summary>
    public string? FallbackReason => _fallbackReason;

    public void Attach(IConversationOutput output) => _output = output;

    /// <summary>
    /// Reads the business's settings, then opens the provider's session. The TwiML greeting has already asked
    /// "how can I help?", so a connected receptionist says nothing until the caller does. When the AI is off for
    /// the business the intake answers; when the settings cannot be read or the provider cannot be reached
    /// (refused, auth, timeout: all bounded well under two seconds) the fallback's first reply plays at once.
    /// </summary>
    public async Task<ConversationReply> StartAsync(CancellationToken cancellationToken)
    {
        _profile = await LoadProfileAsync(StartTimeLeft(_options.ProfileTimeout), cancellationToken);
        if (_profile is null)
        {
            return await HandOverAtStartAsync(EngineFailures.ProfileUnavailable, "the business's settings could not be read", cancellationToken);
        }

        if (!_profile.AiEnabled || _output is null)
        {
            ConversationEngineLog.AiOff(_logger, _call.CallSid, _call.BusinessId);
            _writes.Enqueue("engine", ct => _services.Records.RecordEngineAsync(_call.CallId, ConversationEngines.Intake, null, ct));
            return await TakeOverAsync(cancellationToken);
        }

        var voice = _profile.Voice ?? _services.Connection.Voice ?? _options.DefaultVoice;
        var started = Stopwatch.GetTimestamp();
        try
        {
            _provider = await RealtimeProviderSession.ConnectAsync(_services.Client, _services.Connection.Model,
                SessionConfiguration.For(_profile, voice, _options, _services.Clock.GetUtcNow()), _options,
                StartTimeLeft(_options.ConnectTimeout), cancellationToken);
        }
        catch (RealtimeProviderException ex)
        {
            return await HandOverAtStartAsync(ex.Reason, ex.Message, cancellationToken);
        }

        ConversationEngineLog.Connected(_logger, _call.CallSid, _services.Connection.Model, voice, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _streaming = true;
        _writes.Enqueue("engine", ct => _services.Records.RecordEngineAsync(_call.CallId, ConversationEngines.Realtime, null, ct));
        var provider = _provider;
        _receiveLoop = Task.Run(() => ReceiveLoopAsync(provider));
        _ = provider.SendLoop.ContinueWith(t => HandOver(FailureOf(t.Exception!.InnerException!), t.Exception.InnerException!.Message),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return ConversationReply.Silence;
    }

    /// <summary>
    /// What is left of <see cref="RealtimeOptions.ConnectTimeout"/> on the line's clock, at most <paramref name="bound"/>, never negative.
    /// The caller hears nothing while the session opens, and the call's records and the settings read before it
    /// took part of that time already (much of it when the database is busy): counted from the stream's start, the
    /// fallback's first question is still on the line within two seconds however the time was spent.
    /// </summary>
    private TimeSpan StartTimeLeft(TimeSpan bound)
    {
        var left = _options.ConnectTimeout - (_output?.Now ?? TimeSpan.Zero);
        return left <= TimeSpan.Zero ? TimeSpan.Zero : left < bound ? left : bound;
    }

    /// <summary>The caller finished a turn (the local detector): the provider's reply must begin within <see cref="RealtimeOptions.ReplyTimeout"/>.</summary>
    public Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken)
    {
        if (!_streaming)
        {
            return _fallbackStarted ? Intake().OnCallerTurnAsync(turn, cancellationToken) : TakeOverAsync(cancellationToken);
        }

        lock (_gate)
        {
            var ended = turn.SpeechEndedAt ?? _output!.Now;
            if (!_ending && _lastAudioAt < ended)
            {
                AwaitReply(ended);
            }
        }

        return Task.FromResult(ConversationReply.Silence);
    }

    /// <summary>The caller has been silent: the first time the provider asks whether they are still there; then goodbye.</summary>
    public async Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken)
    {
        if (!_streaming)
        {
            return _fallbackStarted ? await Intake().OnIdleAsync(idleCount, lastReply, cancellationToken) : await TakeOverAsync(cancellationToken);
        }

        if (idleCount < 2)
        {
            var asked = _provider!.TrySend(new RealtimeClientCommandResponseCreate
            {
                ResponseOptions = new RealtimeResponseOptions { Instructions = SessionConfiguration.IdlePrompt },
            });
            lock (_gate)
            {
                AwaitReply(_output!.Now);
            }

            if (!asked)
            {
                HandOver(EngineFailures.SendStalled, "the provider's send queue is full");
            }

            return ConversationReply.Silence;
        }

        lock (_gate)
        {
            _ending = true;
            _replyDueBy = null;
        }

        await _writes.DrainAsync(_options.WriteTimeout);
        return new ConversationReply([Prompt(PromptKeys.IdleGoodbye)], _leadSaved ? CallEnd.Completed : CallEnd.HangUp, "idle");
    }

    /// <summary>Every caller frame goes to the provider; the no-reply guard is checked on the line's clock.</summary>
    public void OnCallerAudio(ReadOnlySpan<byte> muLaw, TimeSpan at, bool callerSpeaking)
    {
        if (!_streaming)
        {
            return;
        }

        string? failure = null;
        lock (_gate)
        {
            if (_ending)
            {
                return;
            }

            if (callerSpeaking)
            {
                // The caller is (still) talking: the provider answers when they stop, and the next turn re-arms the guard.
                _replyDueBy = null;
            }
            else if (_replyDueBy is { } due && at > due)
            {
                failure = $"no audio {(at - _awaitingSince).TotalMilliseconds:0} ms after the caller finished";
            }
        }

        if (failure is not null)
        {
            HandOver(EngineFailures.NoAudio, failure);
        }
        else if (!_provider!.TryAppendAudio(muLaw, flush: NearTurnEnd(at, callerSpeaking)))
        {
            HandOver(EngineFailures.SendStalled, $"the provider has not taken {_options.SendQueueFrames} caller frames");
        }
        else if (_inputOriginTicks < 0)
        {
            Volatile.Write(ref _inputOriginTicks, (at - TimeSpan.FromTicks(muLaw.Length * TimeSpan.TicksPerSecond / 8000)).Ticks);
        }
    }

    /// <summary>
    /// Whether the provider's turn detection may be deciding now that the caller finished: while the local detector hears
    /// them (it keeps hearing them through its own silence window after their last word) and for the provider's silence
    /// window after that. Those frames go to the provider at once; a 100 ms batch would hold the end of the caller's turn,
    /// and so the reply, back by up to 80 ms. The rest (the caller listening, a quiet line) goes in 100 ms appends.
    /// </summary>
    private bool NearTurnEnd(TimeSpan at, bool callerSpeaking)
    {
        if (callerSpeaking)
        {
            _callerHeardAt = at;
            return true;
        }

        return _callerHeardAt is { } heard && at - heard <= _turnEndWindow;
    }

    /// <summary>Arms the guard (under <see cref="_gate"/>): audio must begin within the reply timeout of <paramref name="since"/>.</summary>
    private void AwaitReply(TimeSpan since)
    {
        var due = since + _options.ReplyTimeout;
        if (_replyDueBy is null || due > _replyDueBy)
        {
            _replyDueBy = due;
            _awaitingSince = since;
        }
    }

    /// <summary>
    /// Hands the call over to the fallback (from either thread, once): logged as <c>ENGINE_FALLBACK</c>, counted,
    /// recorded on the call; the provider's session is closed (this call's only; no other call shares it), a
    /// reply cut off mid-stream is closed so what was sent plays out, and the fallback's reply is posted to the
    /// call's receive loop, which plays it within a frame.
    /// </summary>
    private void HandOver(string reason, string detail)
    {
        List<string> open;
        lock (_gate)
        {
            if (!_streaming || _ending)
            {
                return;
            }

            _streaming = false;
            _fallbackReason = reason;
            _replyDueBy = null;
            open = [.. _openReplies];
            _openReplies.Clear();
        }

        Report(reason, detail);
        _stop.Cancel();
        _ = _provider?.DisposeAsync().AsTask();
        foreach (var key in open)
        {
            _output!.EndReply(key);
        }

        _output!.Post("fallback", TakeOverAsync);
    }

    /// <summary>ENGINE_FALLBACK: logged, counted, alerted (one alert per reason per Alerts:MinInterval), recorded on the call.</summary>
    private void Report(string reason, string detail)
    {
        var mode = _profile?.AiFallback == AiFallbackModes.Voicemail ? AiFallbackModes.Voicemail : AiFallbackModes.Intake;
        ConversationEngineLog.Fallback(_logger, _call.CallSid, reason, mode, detail);
        _output?.HandedOver(reason, mode);
        _services.Metrics.Fallback(reason);
        _services.Alerts.Raise("engine_fallback:" + reason, $"call {_call.CallSid}: the AI receptionist failed ({reason}: {detail}); the {mode} took over");
        _writes.Enqueue("engine fallback", ct => _services.Records.RecordEngineAsync(_call.CallId, ConversationEngines.Intake, reason, ct));
    }

    private async Task<ConversationReply> HandOverAtStartAsync(string reason, string detail, CancellationToken cancellationToken)
    {
        _fallbackReason = reason;
        Report(reason, detail);
        return await TakeOverAsync(cancellationToken);
    }

    /// <summary>
    /// The fallback's first reply (on the call's receive loop): the voicemail transfer when that is the business's
    /// setting after a failure, else the intake, asking only what save_lead has not already taken.
    /// </summary>
    private async Task<ConversationReply> TakeOverAsync(CancellationToken cancellationToken)
    {
        if (_fallbackStarted)
        {
            return ConversationReply.Silence;
        }

        _fallbackStarted = true;
        if (_fallbackReason is not null && _profile?.AiFallback == AiFallbackModes.Voicemail)
        {
            return new ConversationReply([Prompt(PromptKeys.VoicemailTransfer)], CallEnd.Voicemail, "engine_" + _fallbackReason);
        }

        return await Intake().StartAsync(cancellationToken);
    }

    private IConversationEngine Intake()
    {
        if (_fallback is null)
        {
            LeadFields lead;
            lock (_gate)
            {
                lead = _lead;
            }

            var answered = new List<string>();
            if (lead.Name is not null)
            {
                answered.Add("name");
            }

            if (lead.Reason is not null)
            {
                answered.Add("reason");
            }

            if (lead.CallbackTime is not null)
            {
                answered.Add("callback_time");
            }

            _fallback = _services.Intake.Create(_call, answered);
        }

        return _fallback;
    }

    private async Task<ReceptionistProfile?> LoadProfileAsync(TimeSpan bound, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(bound);
        try
        {
            return await _services.Records.FindProfileAsync(_call.BusinessId, timeout.Token).WaitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            ConversationEngineLog.WriteFailed(_logger, _call.CallSid, "read the business's settings", ex);
            return null;
        }
    }

    private ReplySegment Prompt(string key) => new(key, _services.Prompts[key].MuLaw);

    private static string FailureOf(Exception exception) => exception is RealtimeProviderException provider ? provider.Reason : EngineFailures.ConnectionLost;

    /// <summary>
    /// Closes the provider's session, waits for the writes, and queues the lead notification of a call that left a
    /// lead (save_lead) but ended without its goodbye: the caller hung up.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _streaming = false; // the call is over: nothing that fails from here on is a hand-over
        }

        await _stop.CancelAsync();
        await Task.WhenAny(_receiveLoop, Task.Delay(StopTimeout));
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }

        await _writes.DrainAsync(_options.WriteTimeout);
        if (_leadSaved)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.WriteTimeout);
                await _services.Records.QueueLeadNotificationAsync(_call.CallId, timeout.Token);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                ConversationEngineLog.WriteFailed(_logger, _call.CallSid, "queue the lead notification", ex);
            }
        }

        if (_fallback is not null)
        {
            await _fallback.DisposeAsync();
        }
    }
}

/// <summary>The engine that answered a call, as recorded on it.</summary>
public static class ConversationEngines
{
    public const string Realtime = "realtime";
    public const string Intake = "intake";
}
