using StackExchange.Redis;
using StackExchange.Redis.Configuration;

namespace AgentLocator.Data.Sessions;

/// <summary>
/// The multiplexer's defaults for the call path, where a webhook must answer Twilio in milliseconds
/// whatever Redis does. They apply where the connection string (<c>ConnectionStrings:redis</c>) or
/// <c>Aspire:StackExchange:Redis:ConfigurationOptions</c> says nothing else:
/// <list type="bullet">
/// <item>never abort on a failed connect: start without Redis and connect when it comes;</item>
/// <item>fail commands at once while disconnected instead of queueing them (<see cref="BacklogPolicy.FailFast"/>);</item>
/// <item>a 2 s connect timeout and a 1 s command timeout (the sessions bound each call tighter still);</item>
/// <item>reconnect quickly after a restart (backoff from 250 ms, at most 2 s apart).</item>
/// </list>
/// </summary>
public sealed class CallPathRedisDefaults : DefaultOptionsProvider
{
    public override bool AbortOnConnectFail => false;

    public override BacklogPolicy BacklogPolicy => BacklogPolicy.FailFast;

    public override TimeSpan? ConnectTimeout => TimeSpan.FromSeconds(2);

    public override TimeSpan SyncTimeout => TimeSpan.FromSeconds(1);

    public override IReconnectRetryPolicy ReconnectRetryPolicy => new ExponentialRetry(250, 2000);
}
