using System.Buffers;
using System.Net.WebSockets;

namespace AgentLocator.Testing.MediaStreams;

public sealed partial class CallSimulator
{
    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= _options.MaxMessageBytes)
                        {
                            Violation($"a message larger than {_options.MaxMessageBytes} bytes");
                            return;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (result.MessageType != WebSocketMessageType.Text)
                {
                    Violation($"{result.MessageType} message: Media Streams messages are JSON text");
                    continue;
                }

                Handle(buffer.AsSpan(0, length));
                await EchoDueMarksAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The app dropped the connection, or the simulator is shutting down.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            // Twilio continues the call (TwiML after <Connect>) once the app closes: stop the line.
            _closed.TrySetResult();
            await _lineStop.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One message from the app, as Twilio handles it.</summary>
    private void Handle(ReadOnlySpan<byte> json)
    {
        var receivedAt = _clock.Elapsed;
        if (!TwilioWire.TryReadAppMessage(json, _options.StreamSid, out var message, out var violation))
        {
            Violation(violation);
            return;
        }

        lock (_gate)
        {
            var lineTime = _options.FrameDuration * Interlocked.Read(ref _framesSent);
            switch (message.Kind)
            {
                case BotMessageKind.Media:
                    Record(new BotMessage(BotMessageKind.Media, receivedAt, Audio: message.Audio)
                    {
                        LineTime = lineTime,
                        ReceivedTimestamp = System.Diagnostics.Stopwatch.GetTimestamp(),
                    });
                    if (message.Audio!.Length > 0)
                    {
                        // Media reaching an idle line late (LineConditions.DownlinkDelay) plays when it arrives, the rest behind it.
                        var playsFrom = _playback.Count == 0 && _options.Line is { DownlinkDelay: var late } && late > TimeSpan.Zero
                            ? lineTime + late
                            : TimeSpan.Zero;
                        _playback.AddLast(new PlaybackItem { Audio = message.Audio, Sequence = ++_itemSequence, ReceivedAt = receivedAt, PlaysFrom = playsFrom });
                        if (Audible(message.Audio))
                        {
                            _botAudio.TrySetResult();
                        }
                    }

                    break;

                case BotMessageKind.Mark:
                    Record(new BotMessage(BotMessageKind.Mark, receivedAt, MarkName: message.MarkName) { LineTime = lineTime });
                    if (_playback.Count == 0)
                    {
                        // Nothing queued before it: Twilio echoes at once.
                        _marksToEcho.Add(message.MarkName!);
                    }
                    else
                    {
                        _playback.AddLast(new PlaybackItem { MarkName = message.MarkName, Sequence = ++_itemSequence });
                    }

                    break;

                case BotMessageKind.Clear:
                    Record(new BotMessage(BotMessageKind.Clear, receivedAt) { LineTime = lineTime });
                    _clears++;

                    // Buffered audio is dropped; marks that were waiting for it are echoed now, in order, after any
                    // already played and not yet echoed.
                    foreach (var item in _playback)
                    {
                        if (item.MarkName is not null)
                        {
                            _marksToEcho.Add(item.MarkName);
                        }
                    }

                    _playback.Clear();
                    break;
            }
        }
    }

    /// <summary>Whether any 20 ms frame of the audio is audible (a long message may hold silence before speech).</summary>
    private bool Audible(byte[] audio)
    {
        for (var offset = 0; offset < audio.Length; offset += _options.FrameBytes)
        {
            if (G711.LevelDbfs(audio.AsSpan(offset, Math.Min(_options.FrameBytes, audio.Length - offset))) > _options.VoicedThresholdDbfs)
            {
                return true;
            }
        }

        return false;
    }

    private void Record(BotMessage message)
    {
        if (_options.RecordMessages)
        {
            _received.Add(message);
        }
    }

    private void Violation(string detail)
    {
        lock (_gate)
        {
            _violations.Add(detail);
            Record(new BotMessage(BotMessageKind.ProtocolViolation, _clock.Elapsed, Detail: detail));
        }
    }
}
