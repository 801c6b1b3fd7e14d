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
/// call). Caller frames waiting together go out as one <c>input_audio_buffer.append</c>.
/// </summary>
internal sealed class RealtimeProviderSession : IAsyncDisposable
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(1);

    private readonly RealtimeSessionClient _session;
    private readonly RealtimeOptions _options;
    private readonly Channel<Outgoing> _outgoing;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sendLoop;
    private int _disposed;

    private RealtimeProviderSession(RealtimeSessionClient session, RealtimeOptions options)
    {
        _session = session;
        _options = options;
        _outgoing = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(options.SendQueueFrames)
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

    /// <summary>Queues one caller frame; false when the queue is full (the provider stopped reading) or the session is closed.</summary>
    public bool TryAppendAudio(ReadOnlySpan<byte> muLaw) => _outgoing.Writer.TryWrite(new Outgoing(muLaw.ToArray(), null));

    /// <summary>Queues a command; false when the queue is full or the session is closed.</summary>
    public bool TrySend(RealtimeClientCommand command) => _outgoing.Writer.TryWrite(new Outgoing(null, command));

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
                    var command = item.Command ?? new RealtimeClientCommandInputAudioBufferAppend(BinaryData.FromBytes(GatherAudio(reader, item.Audio!)));
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

    /// <summary>This frame and every caller frame queued right behind it, in one buffer.</summary>
    private static byte[] GatherAudio(ChannelReader<Outgoing> reader, byte[] first)
    {
        if (!reader.TryPeek(out var next) || next.Audio is null)
        {
            return first;
        }

        var frames = new List<byte[]> { first };
        var length = first.Length;
        while (frames.Count < 50 && reader.TryPeek(out next) && next.Audio is not null && reader.TryRead(out next))
        {
            frames.Add(next.Audio!);
            length += next.Audio!.Length;
        }

        var audio = new byte[length];
        var offset = 0;
        foreach (var frame in frames)
        {
            frame.CopyTo(audio, offset);
            offset += frame.Length;
        }

        return audio;
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

    private readonly record struct Outgoing(byte[]? Audio, RealtimeClientCommand? Command);
}
