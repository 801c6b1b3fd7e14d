using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace AgentLocator.AppHost.Redis;

/// <summary>Healthy = <c>PING</c> answers <c>+PONG</c> (after <c>AUTH</c> when a password is set). No client library needed.</summary>
internal static class RespPing
{
    public static async Task<string?> CheckAsync(RedisConnectionString target, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(target.Host, target.Port, timeout.Token);
            Stream stream = client.GetStream();
            if (target.Ssl)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = target.Host }, timeout.Token);
                stream = ssl;
            }

            if (target.Password is { } password)
            {
                var reply = await SendAsync(stream, timeout.Token, "AUTH", password);
                if (!reply.StartsWith("+OK", StringComparison.Ordinal))
                {
                    return $"AUTH answered {reply}";
                }
            }

            var pong = await SendAsync(stream, timeout.Token, "PING");
            return pong.StartsWith("+PONG", StringComparison.Ordinal) ? null : $"PING answered {pong}";
        }
        catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            return exception is OperationCanceledException ? "no answer to PING within 3 s" : exception.Message;
        }
    }

    private static async Task<string> SendAsync(Stream stream, CancellationToken cancellationToken, params string[] command)
    {
        var request = new StringBuilder($"*{command.Length}\r\n");
        foreach (var part in command)
        {
            request.Append($"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer, cancellationToken);
        return read == 0 ? "(connection closed)" : Encoding.UTF8.GetString(buffer, 0, read).TrimEnd();
    }
}
