using System.Net.Sockets;
using System.Net.WebSockets;

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>Why the AI receptionist handed a call over: the reason on <c>ENGINE_FALLBACK</c>, the metric and the call row.</summary>
public static class EngineFailures
{
    public const string ConnectRefused = "connect_refused";
    public const string ConnectTimeout = "connect_timeout";
    public const string AuthFailed = "auth_failed";
    public const string ConnectFailed = "connect_failed";
    public const string ProviderError = "provider_error";
    public const string ConnectionLost = "connection_lost";
    public const string NoAudio = "no_audio";
    public const string SendStalled = "send_stalled";
    public const string ProfileUnavailable = "profile_unavailable";
    public const string InternalError = "internal_error";

    /// <summary>Why opening the provider's session failed.</summary>
    public static string OfConnect(Exception exception, bool timedOut)
    {
        if (timedOut)
        {
            return ConnectTimeout;
        }

        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return ConnectRefused;
                case WebSocketException when ex.Message.Contains("'401'", StringComparison.Ordinal) || ex.Message.Contains("'403'", StringComparison.Ordinal):
                    return AuthFailed;
                case System.ClientModel.ClientResultException { Status: 401 or 403 }:
                    return AuthFailed;
            }
        }

        return ConnectFailed;
    }
}

/// <summary>The provider's session failed; <see cref="Reason"/> is one of <see cref="EngineFailures"/>.</summary>
public sealed class RealtimeProviderException(string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Reason { get; } = reason;
}
