namespace AgentLocator.Redis;

/// <summary>Base type of every failure this client reports.</summary>
public class RedisException : Exception
{
    public RedisException(string message) : base(message) { }

    public RedisException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// The command could not reach Redis or its connection was lost before the reply arrived:
/// the server is down, unreachable, refused the credentials, or spoke something other than RESP.
/// </summary>
public sealed class RedisConnectionException : RedisException
{
    public RedisConnectionException(string message) : base(message) { }

    public RedisConnectionException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>No reply arrived within the command's timeout. The connection stays usable.</summary>
public sealed class RedisTimeoutException : RedisException
{
    public RedisTimeoutException(string message) : base(message) { }
}

/// <summary>Redis answered with an error reply (<c>-ERR …</c>, <c>-WRONGTYPE …</c>).</summary>
public sealed class RedisServerException : RedisException
{
    public RedisServerException(string message) : base(message) { }
}

/// <summary>Redis answered with a reply of a type the typed helper did not expect.</summary>
public sealed class RedisUnexpectedReplyException : RedisException
{
    public RedisUnexpectedReplyException(string message) : base(message) { }
}

/// <summary>The bytes from the server are not valid RESP; the connection is dropped and re-established.</summary>
public sealed class RedisProtocolException : RedisException
{
    public RedisProtocolException(string message) : base(message) { }
}
