namespace AgentLocator.AppHost.Redis;

/// <summary>The StackExchange.Redis-style <c>host:port[,password=..][,ssl=true]</c> that <c>ConnectionStrings__redis</c> holds.</summary>
internal sealed record RedisConnectionString(string Host, int Port, string? Password, bool Ssl)
{
    public static RedisConnectionString Parse(string value)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            throw new FormatException("The Redis connection string is empty.");
        }

        var endpoint = parts[0];
        var colon = endpoint.LastIndexOf(':');
        var host = colon > 0 ? endpoint[..colon] : endpoint;
        var port = colon > 0 && int.TryParse(endpoint[(colon + 1)..], out var p) ? p : 6379;
        string? password = null;
        var ssl = false;
        foreach (var option in parts.Skip(1))
        {
            var equals = option.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }

            var key = option[..equals].Trim();
            var optionValue = option[(equals + 1)..].Trim();
            if (key.Equals("password", StringComparison.OrdinalIgnoreCase))
            {
                password = optionValue;
            }
            else if (key.Equals("ssl", StringComparison.OrdinalIgnoreCase))
            {
                ssl = bool.TryParse(optionValue, out var s) && s;
            }
        }

        return new RedisConnectionString(host.Trim('[', ']'), port, password, ssl);
    }

    public static string Redact(string value) =>
        string.Join(',', value.Split(',').Select(part =>
            part.TrimStart().StartsWith("password=", StringComparison.OrdinalIgnoreCase) ? "password=***" : part));
}
