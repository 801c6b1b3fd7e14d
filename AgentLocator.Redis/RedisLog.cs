using Microsoft.Extensions.Logging;

namespace AgentLocator.Redis;

internal static partial class RedisLog
{
    [LoggerMessage(EventId = 7100, EventName = "REDIS_CONNECTED", Level = LogLevel.Information,
        Message = "Redis {Role} connection to {EndPoint} established")]
    public static partial void Connected(ILogger logger, string role, string endPoint);

    [LoggerMessage(EventId = 7101, EventName = "REDIS_CONNECTION_LOST", Level = LogLevel.Warning,
        Message = "Redis {Role} connection to {EndPoint} lost; reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string role, string endPoint, Exception? exception);

    [LoggerMessage(EventId = 7102, EventName = "REDIS_CONNECT_FAILED", Level = LogLevel.Warning,
        Message = "Redis {Role} connection to {EndPoint} failed; retrying in {DelayMs} ms")]
    public static partial void ConnectFailed(ILogger logger, string role, string endPoint, double delayMs, Exception exception);

    [LoggerMessage(EventId = 7103, EventName = "REDIS_SUBSCRIBER_HANDLER_FAILED", Level = LogLevel.Error,
        Message = "Redis subscription handler for channel {Channel} threw")]
    public static partial void HandlerFailed(ILogger logger, string channel, Exception exception);
}
