using System.Globalization;
using System.Net.Security;

namespace AgentLocator.Redis;

/// <summary>
/// Where and how to connect, parsed from an Aspire-style connection string:
/// <c>host:port[,password=…][,user=…][,ssl=true][,defaultDatabase=N][,connectTimeout=ms][,syncTimeout=ms][,abortConnect=false][,name=…][,protocol=resp3]</c>.
/// </summary>
public sealed class RedisConnectionOptions
{
    public const int DefaultPort = 6379;

    public string Host { get; set; } = "localhost";

    public int Port { get; set; } = DefaultPort;

    public string? User { get; set; }

    public string? Password { get; set; }

    public bool Ssl { get; set; }

    /// <summary>Host name checked against the server certificate; defaults to <see cref="Host"/>.</summary>
    public string? SslHost { get; set; }

    /// <summary>Custom server certificate check (for private CAs in tests); null uses the system trust store.</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; set; }

    public int DefaultDatabase { get; set; }

    /// <summary>How long one connection attempt (TCP, TLS and handshake) may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Default per-command timeout.</summary>
    public TimeSpan SyncTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When true, the first use throws if the first connection attempt fails. The client always connects
    /// in the background and reconnects by itself; false (the default here) never blocks startup.
    /// </summary>
    public bool AbortConnect { get; set; }

    /// <summary>Sent as CLIENT SETNAME; servers that reject it are tolerated.</summary>
    public string? ClientName { get; set; }

    /// <summary>Speak RESP3 (HELLO 3) instead of RESP2.</summary>
    public bool UseResp3 { get; set; }

    /// <summary>First delay between reconnect attempts; doubles after each failure up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    public string EndPoint => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    public RedisConnectionOptions Clone() => (RedisConnectionOptions)MemberwiseClone();

    public static RedisConnectionOptions Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new RedisConnectionOptions();
        var endPointSeen = false;

        foreach (var rawPart in connectionString.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = rawPart.IndexOf('=');
            if (equals < 0)
            {
                if (endPointSeen)
                {
                    throw new FormatException($"Redis connection string has more than one endpoint ('{rawPart}'); only one is supported.");
                }
                endPointSeen = true;
                ParseEndPoint(rawPart, options);
                continue;
            }

            var key = rawPart[..equals].Trim();
            var value = rawPart[(equals + 1)..].Trim();
            switch (key.ToLowerInvariant())
            {
                case "password":
                    options.Password = value;
                    break;
                case "user":
                    options.User = value;
                    break;
                case "ssl":
                    options.Ssl = ParseBool(key, value);
                    break;
                case "sslhost":
                    options.SslHost = value;
                    break;
                case "defaultdatabase":
                    options.DefaultDatabase = ParseInt(key, value);
                    break;
                case "connecttimeout":
                    options.ConnectTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value));
                    break;
                case "synctimeout":
                case "asynctimeout":
                    options.SyncTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value));
                    break;
                case "abortconnect":
                    options.AbortConnect = ParseBool(key, value);
                    break;
                case "name":
                    options.ClientName = value;
                    break;
                case "protocol":
                    options.UseResp3 = value.ToLowerInvariant() switch
                    {
                        "resp3" or "3" => true,
                        "resp2" or "2" => false,
                        _ => throw new FormatException($"Redis connection string: protocol must be resp2 or resp3, not '{value}'."),
                    };
                    break;
                default:
                    // Unknown StackExchange.Redis options (allowAdmin, keepAlive, …) are accepted and ignored so
                    // that connection strings written for it keep working.
                    break;
            }
        }

        if (!endPointSeen)
        {
            throw new FormatException("Redis connection string has no host:port.");
        }
        return options;
    }

    private static void ParseEndPoint(string text, RedisConnectionOptions options)
    {
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0)
            {
                throw new FormatException($"Redis endpoint '{text}' has an unclosed '['.");
            }
            host = text[1..close];
            if (close + 1 < text.Length)
            {
                if (text[close + 1] != ':')
                {
                    throw new FormatException($"Redis endpoint '{text}' is not [host]:port.");
                }
                port = text[(close + 2)..];
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            host = colon < 0 ? text : text[..colon];
            port = colon < 0 ? null : text[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            throw new FormatException($"Redis endpoint '{text}' has no host.");
        }
        options.Host = host;
        if (port is not null)
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                throw new FormatException($"Redis endpoint '{text}' has an invalid port.");
            }
            options.Port = p;
        }
    }

    private static bool ParseBool(string key, string value) =>
        bool.TryParse(value, out var result)
            ? result
            : throw new FormatException($"Redis connection string: '{key}' must be true or false, not '{value}'.");

    private static int ParseInt(string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var result) && result >= 0
            ? result
            : throw new FormatException($"Redis connection string: '{key}' must be a non-negative integer, not '{value}'.");

    /// <summary>The connection string without the password, for logs and errors.</summary>
    public override string ToString() =>
        $"{EndPoint}{(Password is null ? "" : ",password=*****")}{(User is null ? "" : $",user={User}")}{(Ssl ? ",ssl=true" : "")},defaultDatabase={DefaultDatabase}";
}
