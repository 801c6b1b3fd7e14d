using System.Net.WebSockets;
using System.Threading.Channels;
using AgentLocator.MediaStreams;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// A connection's bounded send queue and its send loop: the only three messages an app may send
/// (<c>media</c>, <c>mark</c>, <c>clear</c>), serialized with one reused <see cref="MediaStreamWriter"/>.
/// Producers never wait (<c>TryWrite…</c> returns false when full; an idle loop sends what they write on their own
/// thread, up to the first send that cannot complete at once); a send that takes longer than
/// the send timeout (dead or stalled peer) aborts the socket, so one slow caller never holds up others;
/// an empty queue is never a stalled peer (Twilio's side may stay quiet for as long as the caller talks).
/// </summary>
internal sealed class OutboundQueue(WebSocket socket, string streamSid, int capacity, TimeSpan sendTimeout)
{
    private readonly Channel<Outbound> _channel = Channel.CreateBounded<Outbound>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait,
        // The idle send loop resumes on the writer's thread, inside TryWrite: a reply's first frame goes to the socket
        // at once instead of waiting its turn in the thread pool's queue behind every call's caller frames (the tail of a
        // streamed reply's first frame at 100 calls on two cores). Safe here: the loop only serializes and hands the
        // message to the socket, whose send never blocks (a slow peer makes it complete later, on the pool).
        AllowSynchronousContinuations = true,
    });

    private int _droppedThrough;
    private long _sent;

    private enum Kind : byte
    {
        Media,
        Mark,
        Clear,
    }

    public long Sent => Interlocked.Read(ref _sent);

    public bool TryWriteMedia(int replyId, ReadOnlyMemory<byte> muLaw) => _channel.Writer.TryWrite(new Outbound(Kind.Media, replyId, muLaw, null));

    public bool TryWriteMark(int replyId, string name) => _channel.Writer.TryWrite(new Outbound(Kind.Mark, replyId, default, name));

    /// <summary>Drops every queued item of replies up to <paramref name="replyId"/> and queues a <c>clear</c> (always accepted).</summary>
    public void Clear(int replyId)
    {
        Volatile.Write(ref _droppedThrough, replyId);
        // Nothing of the dropped replies will be sent, so room appears as the loop skips them; never lose the clear.
        _pendingClear = true;
        if (_channel.Writer.TryWrite(new Outbound(Kind.Clear, 0, default, null)))
        {
            _pendingClear = false;
        }
    }

    private volatile bool _pendingClear;

    /// <summary>Retries a <c>clear</c> the full queue refused.</summary>
    public void Flush()
    {
        if (_pendingClear && _channel.Writer.TryWrite(new Outbound(Kind.Clear, 0, default, null)))
        {
            _pendingClear = false;
        }
    }

    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>
    /// Sends until the queue is completed and drained or the connection fails. The send timeout bounds
    /// each single send, armed just before it and disarmed just after: time the queue spends empty (the
    /// caller talking, a pause) never counts. A send that outlasts it throws <see cref="TimeoutException"/>
    /// (the WebSocket aborts itself when a send is cancelled).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var writer = new MediaStreamWriter(2048);
        var timeout = new CancellationTokenSource();
        try
        {
            var reader = _channel.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    if (item.Kind != Kind.Clear && item.ReplyId <= Volatile.Read(ref _droppedThrough))
                    {
                        continue;
                    }

                    var message = item.Kind switch
                    {
                        Kind.Media => writer.WriteMedia(streamSid, item.Audio.Span),
                        Kind.Mark => writer.WriteMark(streamSid, item.MarkName!),
                        _ => writer.WriteClear(streamSid),
                    };
                    timeout.CancelAfter(sendTimeout);
                    try
                    {
                        await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
                    {
                        throw new TimeoutException($"a send took longer than {sendTimeout.TotalMilliseconds:0} ms", ex);
                    }

                    // Disarm. A timer that fired just as the send completed cannot be reset: start afresh.
                    if (!timeout.TryReset())
                    {
                        timeout.Dispose();
                        timeout = new CancellationTokenSource();
                    }

                    Interlocked.Increment(ref _sent);
                }
            }
        }
        finally
        {
            timeout.Dispose();
        }
    }

    private readonly record struct Outbound(Kind Kind, int ReplyId, ReadOnlyMemory<byte> Audio, string? MarkName);
}
