using System.Net.WebSockets;
using AgentLocator.Media;
using AgentLocator.MediaStreams;

namespace AgentLocator.Testing.MediaStreams;

public sealed partial class CallSimulator
{
    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        using var reader = new WebSocketMessageReader(_options.MaxMessageBytes);
        var marksToEcho = new List<string>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var kind = await reader.ReceiveAsync(_socket, cancellationToken).ConfigureAwait(false);
                if (kind == WebSocketMessageKind.Close)
                {
                    break;
                }

                var receivedAt = _clock.Elapsed;
                if (kind != WebSocketMessageKind.Text)
                {
                    Record(new BotMessage(BotMessageKind.ProtocolViolation, receivedAt, Detail: $"{kind} message: Media Streams frames are JSON text."));
                    continue;
                }

                Handle(reader.Message.Span, receivedAt, marksToEcho);
                foreach (var mark in marksToEcho)
                {
                    await EchoMarkAsync(mark, cancellationToken).ConfigureAwait(false);
                }

                marksToEcho.Clear();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The app dropped the connection, or the simulator is shutting down.
        }
        finally
        {
            // Twilio continues the call (TwiML after <Connect>) once the app closes: stop the line.
            _closed.TrySetResult();
            await _lineStop.CancelAsync().ConfigureAwait(false);
        }
    }

    private void Handle(ReadOnlySpan<byte> json, TimeSpan receivedAt, List<string> marksToEcho)
    {
        var status = MediaStreamParser.TryParse(json, out var message, _options.MaxMessageBytes);
        if (status != MediaStreamParseStatus.Ok)
        {
            Record(new BotMessage(BotMessageKind.ProtocolViolation, receivedAt, Detail: $"{status}: {message.Error ?? message.UnknownEventName}"));
            return;
        }

        switch (message.EventType)
        {
            case MediaStreamEventType.Media:
                OnMedia(message.GetPayload(), receivedAt);
                break;

            case MediaStreamEventType.Mark:
                Record(new BotMessage(BotMessageKind.Mark, receivedAt, MarkName: message.MarkName));
                lock (_gate)
                {
                    if (_playback.Count == 0)
                    {
                        // Nothing queued before it: Twilio echoes at once.
                        marksToEcho.Add(message.MarkName!);
                    }
                    else
                    {
                        _playback.AddLast(new PlaybackItem { MarkName = message.MarkName });
                    }
                }

                break;

            case MediaStreamEventType.Clear:
                Record(new BotMessage(BotMessageKind.Clear, receivedAt));
                lock (_gate)
                {
                    // Buffered audio is dropped; marks that were waiting for it are echoed now.
                    foreach (var item in _playback)
                    {
                        if (item.MarkName is not null)
                        {
                            marksToEcho.Add(item.MarkName);
                        }
                    }

                    _playback.Clear();
                }

                break;

            default:
                Record(new BotMessage(BotMessageKind.ProtocolViolation, receivedAt, Detail: $"event '{message.UnknownEventName ?? message.EventType.ToString()}': an app may send only media, mark and clear (Twilio error 31924)."));
                break;
        }
    }

    private void OnMedia(byte[] audio, TimeSpan receivedAt)
    {
        var nonSilent = false;
        for (var offset = 0; offset < audio.Length && !nonSilent; offset += _options.FrameBytes)
        {
            var frame = audio.AsSpan(offset, Math.Min(_options.FrameBytes, audio.Length - offset));
            nonSilent = AudioLevel.MuLawDbfs(frame) > _options.VoicedThresholdDbfs;
        }

        lock (_gate)
        {
            _received.Add(new BotMessage(BotMessageKind.Media, receivedAt, Audio: audio));
            if (audio.Length > 0)
            {
                _playback.AddLast(new PlaybackItem { Remaining = audio.Length });
            }

            if (!nonSilent)
            {
                return;
            }

            if (_turnPending)
            {
                _turnPending = false;
                _turns.Add(new TurnLatency(_turns.Count + 1, _lastVoicedAt, receivedAt));
            }

            _botAudio.TrySetResult();
        }
    }

    private void Record(BotMessage message)
    {
        lock (_gate)
        {
            _received.Add(message);
        }
    }
}
