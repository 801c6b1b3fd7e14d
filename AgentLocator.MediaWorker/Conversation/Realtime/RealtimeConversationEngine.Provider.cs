using AgentLocator.Data.Model;
using OpenAI.Realtime;

#pragma warning disable OPENAI002 // OpenAI.Realtime is experimental in the 2.x SDK.

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// The provider's events, on the provider's receive loop: the caller's turns as the provider saw them, each reply's
/// audio (played at once), its transcript, its tool calls, and the failures that hand the call over (an
/// <c>error</c> event, a failed response, the socket closing or breaking).
/// </summary>
public sealed partial class RealtimeConversationEngine
{
    /// <summary>An error the provider reports about a cancel that raced the end of its response: harmless.</summary>
    private const string CancelNotActive = "response_cancel_not_active";

    /// <summary>The provider's reply items whose audio still streams (under <see cref="_gate"/>).</summary>
    private readonly List<string> _openReplies = [];

    /// <summary>The response being generated (provider thread; its id is read under <see cref="_gate"/>).</summary>
    private ResponseState? _response;

    /// <summary>The caller's speech as the provider's turn detection last heard it, on its input audio's clock (provider thread).</summary>
    private (string? ItemId, TimeSpan Start, TimeSpan? End) _providerSpeech;

    private sealed class ResponseState(string? id)
    {
        public string? Id { get; } = id;

        public bool HadAudio { get; set; }

        public List<string> AudioItems { get; } = [];

        public List<(string CallId, string Name, string Arguments)> ToolCalls { get; } = [];
    }

    private async Task ReceiveLoopAsync(RealtimeProviderSession provider)
    {
        try
        {
            await foreach (var update in provider.ReceiveAsync(_stop.Token))
            {
                await HandleAsync(provider, update);
                if (!_streaming)
                {
                    return;
                }
            }

            HandOver(EngineFailures.ConnectionLost, "the provider closed the session");
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The call ended or the engine handed over.
        }
        catch (RealtimeProviderException ex)
        {
            HandOver(ex.Reason, ex.Message);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or ObjectDisposedException
            or System.ClientModel.ClientResultException)
        {
            HandOver(EngineFailures.ConnectionLost, "the provider's socket failed: " + ex.Message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ConversationEngineLog.LoopFailed(_logger, _call.CallSid, ex);
            HandOver(EngineFailures.InternalError, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private async Task HandleAsync(RealtimeProviderSession provider, RealtimeServerUpdate update)
    {
        switch (update)
        {
            case RealtimeServerUpdateInputAudioBufferSpeechStarted started:
                _providerSpeech = (started.ItemId, started.AudioStartTime, null);
                break;

            case RealtimeServerUpdateInputAudioBufferSpeechStopped stopped:
                _providerSpeech = (stopped.ItemId, _providerSpeech.ItemId == stopped.ItemId ? _providerSpeech.Start : stopped.AudioEndTime, stopped.AudioEndTime);
                break;

            case RealtimeServerUpdateInputAudioBufferCommitted committed:
                // The provider took the caller's turn: its item comes first in the transcript; its reply is due soon.
                lock (_gate)
                {
                    SequenceOf(committed.ItemId);
                    if (_replyDueBy is not null)
                    {
                        AwaitReply(_output!.Now);
                    }
                }

                TurnTaken(committed.ItemId);
                break;

            case RealtimeServerUpdateConversationItemInputAudioTranscriptionCompleted transcribed:
                SaveCallerTurn(transcribed.ItemId, transcribed.Transcript);
                break;

            case RealtimeServerUpdateResponseCreated created:
                lock (_gate)
                {
                    _response = new ResponseState(created.Response?.Id);
                }

                break;

            case RealtimeServerUpdateResponseOutputAudioDelta delta:
                OnAudio(delta.ItemId, delta.Delta);
                break;

            case RealtimeServerUpdateResponseOutputAudioTranscriptDelta text:
                AppendAssistantText(text.ItemId, text.Delta);
                break;

            case RealtimeServerUpdateResponseOutputAudioTranscriptDone text:
                SetAssistantText(text.ItemId, text.Transcript);
                break;

            case RealtimeServerUpdateResponseOutputAudioDone done:
                EndReply(done.ItemId);
                break;

            case RealtimeServerUpdateResponseFunctionCallArgumentsDone call:
                lock (_gate)
                {
                    (_response ??= new ResponseState(call.ResponseId)).ToolCalls.Add((call.CallId, call.FunctionName, call.FunctionArguments?.ToString() ?? ""));
                }

                break;

            case RealtimeServerUpdateResponseDone done:
                await OnResponseDoneAsync(provider, done.Response);
                break;

            case RealtimeServerUpdateError error when error.Error?.Code == CancelNotActive:
                ConversationEngineLog.ProviderNotice(_logger, _call.CallSid, CancelNotActive, error.Error.Message ?? "");
                break;

            case RealtimeServerUpdateError error:
                HandOver(EngineFailures.ProviderError, $"the provider sent error {error.Error?.Kind}/{error.Error?.Code}: {error.Error?.Message}");
                break;
        }
    }

    /// <summary>
    /// Tells the pipeline the provider took a caller's turn (the call's trace shows it as a turn span until the reply's first
    /// frame), its speech end placed on the stream clock by where the provider's input audio began.
    /// </summary>
    private void TurnTaken(string itemId)
    {
        var now = _output!.Now;
        var (speechEnd, speech) = (now, TimeSpan.Zero);
        if (_providerSpeech is { End: { } end } heard && heard.ItemId == itemId && InputOrigin is { } origin)
        {
            speechEnd = origin + end < now ? origin + end : now;
            speech = end - heard.Start;
        }

        _output.TurnTaken(speechEnd, speech, ConversationEngines.Realtime);
    }

    /// <summary>Reply audio: played at once (the first delta of an item starts its reply), unless the caller cut that reply off.</summary>
    private void OnAudio(string itemId, BinaryData? audio)
    {
        if (audio is null || _output is null)
        {
            return;
        }

        var bytes = audio.ToMemory();
        if (bytes.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            if (_ending)
            {
                return;
            }

            var item = Assistant(itemId);
            if (item.Interrupted)
            {
                return;
            }

            item.SentBytes += bytes.Length;
            if (!_openReplies.Contains(itemId))
            {
                _openReplies.Add(itemId);
            }

            if (_response is { } response)
            {
                response.HadAudio = true;
                if (!response.AudioItems.Contains(itemId))
                {
                    response.AudioItems.Add(itemId);
                }
            }

            var now = _output.Now;
            if (_replyDueBy is not null)
            {
                _services.Metrics.ReplyLatency(now - _awaitingSince);
                _replyDueBy = null;
            }

            _lastAudioAt = now;
        }

        _output.Play(itemId, bytes.Span);
    }

    private void EndReply(string itemId)
    {
        bool open;
        lock (_gate)
        {
            open = _openReplies.Remove(itemId);
        }

        if (open)
        {
            _output?.EndReply(itemId);
        }
    }

    /// <summary>
    /// A response ended: its replies are closed, its transcript saved; a failed one hands the call over; its tool
    /// calls run (a cancelled response, cut off by the caller, does not end the call).
    /// </summary>
    private async Task OnResponseDoneAsync(RealtimeProviderSession provider, RealtimeResponse? done)
    {
        ResponseState? response;
        lock (_gate)
        {
            response = _response;
            _response = null;
        }

        response ??= new ResponseState(done?.Id);
        foreach (var itemId in response.AudioItems)
        {
            EndReply(itemId);
            SaveAssistantTurn(itemId);
        }

        if (done?.Status == RealtimeResponseStatus.Failed)
        {
            var error = done.StatusDetails?.Error;
            HandOver(EngineFailures.ProviderError, $"the provider's response failed: {error?.Code} {error?.Message}");
            return;
        }

        if (response.ToolCalls.Count > 0)
        {
            await RunToolsAsync(provider, response.ToolCalls, response.HadAudio, cancelled: done?.Status == RealtimeResponseStatus.Cancelled);
        }
    }

    /// <summary>
    /// The caller talked over a streamed reply and the pipeline cleared Twilio's buffer: no more of that item plays,
    /// the response still generating is cancelled, and the provider's copy of the item is truncated to what the
    /// caller heard (the echoed marks), so the model knows what was said.
    /// </summary>
    public void OnReplyInterrupted(ReplyHeard heard)
    {
        if (_provider is null || heard.Segments.Count == 0)
        {
            return;
        }

        var itemId = heard.Segments[0].Label;
        var heardMs = (int)heard.Heard.TotalMilliseconds;
        int sentMs;
        bool generating;
        lock (_gate)
        {
            var item = Assistant(itemId);
            item.Interrupted = true;
            item.HeardMs = heardMs;
            sentMs = item.SentBytes / 8;
            _openReplies.Remove(itemId);
            generating = _response is not null && !_ending;
        }

        if (!_streaming)
        {
            return;
        }

        ConversationEngineLog.Truncated(_logger, _call.CallSid, itemId, heardMs, sentMs);
        if (generating)
        {
            _provider.TrySend(new RealtimeClientCommandResponseCancel());
        }

        _provider.TrySend(new RealtimeClientCommandConversationItemTruncate(itemId, 0, TimeSpan.FromMilliseconds(heardMs)));
        SaveAssistantTurn(itemId);
    }
}
