using System.Buffers;
using System.Net.WebSockets;

namespace AgentLocator.Media;

public enum WebSocketMessageKind
{
    Text,
    Binary,
    Close,

    /// <summary>The message exceeded the reader's limit; the rest of it was discarded.</summary>
    TooLarge,
}

/// <summary>
/// Assembles whole WebSocket messages (which may arrive in fragments) into one pooled, reused
/// buffer with a size limit. <see cref="Message"/> is valid until the next receive. Dispose to
/// return the buffer to the pool.
/// </summary>
public sealed class WebSocketMessageReader(int maxMessageBytes = 1024 * 1024) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);
    private int _length;

    public ReadOnlyMemory<byte> Message => _buffer.AsMemory(0, _length);

    public async ValueTask<WebSocketMessageKind> ReceiveAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _length = 0;
        var tooLarge = false;
        while (true)
        {
            if (_length == _buffer.Length)
            {
                if (_buffer.Length >= maxMessageBytes)
                {
                    tooLarge = true;
                    _length = 0;
                }
                else
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, Math.Max(maxMessageBytes, 4096)));
                    _buffer.AsSpan(0, _length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = bigger;
                }
            }

            var result = await socket.ReceiveAsync(_buffer.AsMemory(_length), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                _length = 0;
                return WebSocketMessageKind.Close;
            }

            _length += result.Count;
            if (!tooLarge && _length > maxMessageBytes)
            {
                tooLarge = true;
            }

            if (result.EndOfMessage)
            {
                if (tooLarge)
                {
                    _length = 0;
                    return WebSocketMessageKind.TooLarge;
                }

                return result.MessageType == WebSocketMessageType.Text ? WebSocketMessageKind.Text : WebSocketMessageKind.Binary;
            }

            if (tooLarge)
            {
                _length = 0;
            }
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
