using System.Net.Sockets;
using System.Text;

namespace AgentLocator.Tests.AppHost;

/// <summary>Sends one RESP command and returns the raw first reply — enough to prove a server answers.</summary>
internal static class RawRedis
{
    public static async Task<string> SendAsync(string connectionString, CancellationToken cancellationToken, params string[] command)
    {
        var endpoint = connectionString.Split(',')[0];
        var colon = endpoint.LastIndexOf(':');
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        var stream = client.GetStream();
        var request = new StringBuilder($"*{command.Length}\r\n");
        foreach (var part in command)
        {
            request.Append($"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        var buffer = new byte[512];
        var read = await stream.ReadAsync(buffer, cancellationToken);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }
}
