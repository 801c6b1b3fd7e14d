using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace AgentLocator.Smoke;

/// <summary>What a server answered to a WebSocket upgrade request.</summary>
public sealed record HandshakeResult(int Status, string StatusLine, bool AcceptValid, TimeSpan Elapsed);

/// <summary>
/// The raw RFC 6455 opening handshake, the way Twilio opens a Media Stream: one GET with the upgrade
/// headers over TCP (TLS for <c>wss</c>), the status line and <c>Sec-WebSocket-Accept</c> read back, then
/// a close frame. Anything but 101 is what Twilio reports as error 31920.
/// </summary>
public static class WebSocketHandshake
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private const int MaxHeaderBytes = 16 * 1024;

    public static async Task<HandshakeResult> ProbeAsync(Uri uri, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException($"'{uri}' is not a ws:// or wss:// URL.", nameof(uri));
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var clock = Stopwatch.StartNew();
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(uri.Host, uri.Port, deadline.Token);
        Stream stream = tcp.GetStream();
        if (uri.Scheme == "wss")
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = uri.IdnHost }, deadline.Token);
            stream = tls;
        }
        await using (stream)
        {
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request =
                $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: AgentLocator.Smoke\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), deadline.Token);

            var head = await ReadHeadAsync(stream, deadline.Token);
            var elapsed = clock.Elapsed;
            var lines = head.Split("\r\n");
            var statusLine = lines[0];
            var parts = statusLine.Split(' ', 3);
            var status = parts.Length >= 2 && int.TryParse(parts[1], out var code) ? code : 0;
            var accept = lines.Skip(1)
                .Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2 && p[0].Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
                .Select(p => p[1].Trim())
                .FirstOrDefault();
            var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
            if (status == 101)
            {
                await SendCloseAsync(stream, deadline.Token);
            }
            return new HandshakeResult(status, statusLine, accept == expected, elapsed);
        }
    }

    private static async Task<string> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHeaderBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length, 1), cancellationToken);
            if (read == 0)
            {
                break;
            }
            length += read;
            if (length >= 4 && buffer.AsSpan(length - 4, 4).SequenceEqual("\r\n\r\n"u8))
            {
                return Encoding.ASCII.GetString(buffer, 0, length - 4);
            }
        }
        if (length == 0)
        {
            throw new IOException("the server closed the connection without answering the upgrade request");
        }
        return Encoding.ASCII.GetString(buffer, 0, length);
    }

    /// <summary>A masked close frame (1000, normal closure): the probe ends the stream the polite way.</summary>
    private static async Task SendCloseAsync(Stream stream, CancellationToken cancellationToken)
    {
        var mask = RandomNumberGenerator.GetBytes(4);
        byte[] frame = [0x88, 0x82, mask[0], mask[1], mask[2], mask[3], (byte)(0x03 ^ mask[0]), (byte)(0xE8 ^ mask[1])];
        try
        {
            await stream.WriteAsync(frame, cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        catch (IOException)
        {
            // The server may already have dropped a stream that never sent 'start'; the handshake result stands.
        }
    }
}
