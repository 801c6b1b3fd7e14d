using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using OpenAI.Realtime;

#pragma warning disable OPENAI002 // OpenAI.Realtime is marked experimental in the 2.x SDK; this file is its one user on the send side.

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// One call's session with the Realtime provider, around the SDK's <see cref="RealtimeSessionClient"/>: opened and
/// configured within a bound, then a send loop that owns the socket's send side (caller audio and commands go
/// through a bounded queue: the call's receive loop never waits on the provider, and a provider that stops
/// reading shows up as a full queue or a send past <see cref="RealtimeOptions.SendTimeout"/>, never as a stuck
/// call). Caller audio goes out in 100 ms <c>input_audio_buffer.append</c>s (as LiveKit's Realtime plugin sends it: a
/// fifth of the messages, serializations and socket sends of one per 20 ms frame), except what the engine flushes at
/// once (around the end of the caller's speech, where the provider's turn detection decides); frames waiting together
/// go out as one append. The audio travels in pooled buffers, returned once sent.
/// </summary>
internal sealed class RealtimeProviderSession : IAsyncDisposable
{
    /// <summary>Caller audio per append when nothing asks for it sooner: 100 ms of 8 kHz mu-law.</summary>
    public const int BatchBytes = 800;

    /// <summary>The most caller audio one append carries when the send loop gathers what queued up behind a slow send: 1 s.</summary>
    private const int MaxAppendBytes = 8000;

    private const int FrameBytes = 160;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(1);

    private readonly RealtimeSessionClient _session;
    private readonly RealtimeOptions _options;
    private readonly Channel<Outgoing> _outgoing;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sendLoop;
    private readonly int _maxQueuedAudio;
    private int _disposed;

    /// <summary>Caller audio queued and not yet sent (bytes; the receive loop adds, the send loop subtracts).</summary>
    private int _queuedAudio;

    /// <summary>The append being filled (receive loop only): a pooled buffer and how much of it holds audio.</summary>
    private byte[]? _batch;
    private int _batched;

    private RealtimeProviderSession(RealtimeSessionClient session, RealtimeOptions options)
    {
        _session = session;
        _options = options;
        _maxQueuedAudio = options.SendQueueFrames * FrameBytes;
        // Room for every frame sent alone, and for commands beside them: the audio's own bound is _maxQueuedAudio.
        _outgoing = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(options.SendQueueFrames + 32)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _sendLoop = Task.Run(SendLoopAsync);
    }

    /// <summary>Completes (faulted with a <see cref="RealtimeProviderException"/>) when sending fails; never completes normally before disposal.</summary>
    public Task SendLoop => _sendLoop;

    /// <summary>Opens the session and sends its configuration, within <paramref name="bound"/> (never negative: what is left of <see cref="RealtimeOptions.ConnectTimeout"/>).</summary>
    public static async Task<RealtimeProviderSession> ConnectAsync(RealtimeClient client, string model, RealtimeConversationSessionOptions configuration,
        RealtimeOptions options, TimeSpan bound, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(bound);
        RealtimeSessionClient? session = null;
        var opening = client.StartConversationSessionAsync(model, cancellationToken: timeout.Token);
        try
        {
            // WaitAsync: the bound holds even where the SDK or the socket notices the token late.
            session = await opening.WaitAsync(timeout.Token);
            await session.ConfigureConversationSessionAsync(configuration, timeout.Token).WaitAsync(timeout.Token);
            return new RealtimeProviderSession(session, options);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            if (session is not null)
            {
                session.Dispose();
            }
            else
            {
                // Given up on: a session that opens late is closed when it does (a late failure is observed here).
                _ = opening.ContinueWith(static t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        t.Result.Dispose();
                    }
                    else
                    {
                        _ = t.Exception;
                    }
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            var timedOut = timeout.IsCancellationRequested;
            var reason = EngineFailures.OfConnect(ex, timedOut);
            throw new RealtimeProviderException(reason,
                timedOut ? $"the provider's session did not open within {bound.TotalMilliseconds:0} ms ({options.ConnectTimeout.TotalMilliseconds:0} ms from the stream's start)" : "the provider's session did not open: " + ex.Message, ex);
        }
    }

    /// <summary>The provider's events, as the SDK parses them; ends (throws) when the socket does.</summary>
    public IAsyncEnumerable<RealtimeServerUpdate> ReceiveAsync(CancellationToken cancellationToken) => _session.ReceiveUpdatesAsync(cancellationToken);

    /// <summary>
    /// Adds one caller frame to the append being filled, which is queued once it holds 100 ms, or now when
    /// <paramref name="flush"/>. From the call's receive loop only. False when <see cref="RealtimeOptions.SendQueueFrames"/>
    /// frames already wait (the provider stopped reading) or the session is closed.
    /// </summary>
    public bool TryAppendAudio(ReadOnlySpan<byte> muLaw, bool flush)
    {
        if (Volatile.Read(ref _queuedAudio) + _batched + muLaw.Length > _maxQueuedAudio)
        {
            return false;
        }

        var batch = _batch ??= ArrayPool<byte>.Shared.Rent(BatchBytes);
        if (_batched + muLaw.Length > batch.Length)
        {
            // An unusually long frame: the batch grows to hold it.
            var bigger = ArrayPool<byte>.Shared.Rent(_batched + muLaw.Length);
            batch.AsSpan(0, _batched).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(batch);
            _batch = batch = bigger;
        }

        muLaw.CopyTo(batch.AsSpan(_batched));
        _batched += muLaw.Length;
        if (!flush && _batched < BatchBytes)
        {
            return true;
        }

        var length = _batched;
        Interlocked.Add(ref _queuedAudio, length);
        (_batch, _batched) = (null, 0);
        if (_outgoing.Writer.TryWrite(new Outgoing(batch, length, null)))
        {
            return true;
        }

        Interlocked.Add(ref _queuedAudio, -length);
        ArrayPool<byte>.Shared.Return(batch);
        return false;
    }

    /// <summary>Queues a command; false when the queue is full or the session is closed.</summary>
    public bool TrySend(RealtimeClientCommand command) => _outgoing.Writer.TryWrite(new Outgoing(null, 0, command));

    private async Task SendLoopAsync()
    {
        var reader = _outgoing.Reader;
        var timeout = new CancellationTokenSource();
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    (byte[] Buffer, int Length)? audio = item.Audio is null ? null : GatherAudio(reader, item);
                    var command = item.Command ?? new RealtimeClientCommandInputAudioBufferAppend(BinaryData.FromBytes(audio!.Value.Buffer.AsMemory(0, audio.Value.Length)));
                    timeout.CancelAfter(_options.SendTimeout);
                    try
                    {
                        await _session.SendCommandAsync(command, timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !_stop.IsCancellationRequested)
                    {
                        throw new RealtimeProviderException(EngineFailures.SendStalled,
                            $"a message to the provider took longer than {_options.SendTimeout.TotalMilliseconds:0} ms", ex);
                    }
                    catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException && !_stop.IsCancellationRequested)
                    {
                        throw new RealtimeProviderException(EngineFailures.ConnectionLost, "the provider's socket failed while sending: " + ex.Message, ex);
                    }
                    finally
                    {
                        if (audio is { } sent)
                        {
                            // Serialized and handed to the socket (or failed): the buffer is free again.
                            Interlocked.Add(ref _queuedAudio, -sent.Length);
                            ArrayPool<byte>.Shared.Return(sent.Buffer);
                        }
                    }

                    if (!timeout.TryReset())
                    {
                        timeout.Dispose();
                        timeout = new CancellationTokenSource();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed.
        }
        finally
        {
            timeout.Dispose();
        }
    }

    /// <summary>This append and the caller audio queued right behind it (up to a second), in one pooled buffer.</summary>
    private static (byte[] Buffer, int Length) GatherAudio(ChannelReader<Outgoing> reader, Outgoing first)
    {
        var (buffer, length) = (first.Audio!, first.Length);
        while (reader.TryPeek(out var next) && next.Audio is not null && length + next.Length <= MaxAppendBytes && reader.TryRead(out next))
        {
            if (length + next.Length > buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(MaxAppendBytes);
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            next.Audio!.AsSpan(0, next.Length).CopyTo(buffer.AsSpan(length));
            length += next.Length;
            ArrayPool<byte>.Shared.Return(next.Audio!);
        }

        return (buffer, length);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _outgoing.Writer.TryComplete();
        await _stop.CancelAsync();
        await Task.WhenAny(_sendLoop, Task.Delay(CloseTimeout));
        try
        {
            using var timeout = new CancellationTokenSource(CloseTimeout);
            if (_session.WebSocket is { State: WebSocketState.Open or WebSocketState.CloseReceived } socket)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "call ended", timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // Bounded: the socket is disposed below either way.
        }

        _session.Dispose(); // _stop is not disposed: a send loop still winding down may read its token
    }

    /// <summary>Caller audio (a pooled buffer and its length) or a command.</summary>
    private readonly record struct Outgoing(byte[]? Audio, int Length, RealtimeClientCommand? Command);
}
