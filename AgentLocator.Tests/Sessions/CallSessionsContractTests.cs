using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AgentLocator.AppHost.Processes;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Sessions;
using AgentLocator.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace AgentLocator.Tests.Sessions;

/// <summary>
/// <see cref="ICallSessions"/> as the services register it (<c>AddCallSessions</c>: Aspire's StackExchange.Redis
/// client, the call-path defaults, the <c>redis</c> readiness check), each replica its own host, against a real
/// server: redis-server (<see cref="RedisCallSessionsContractTests"/>) and Garnet (<see cref="GarnetCallSessionsContractTests"/>).
/// </summary>
public abstract class CallSessionsContractTests(RedisServerFixture server)
{
    /// <summary>What a caller of the sessions may wait at most when Redis is gone (the bound plus a busy machine's slack).</summary>
    private static readonly TimeSpan DegradedBound = RedisCallSessions.OperationTimeout + TimeSpan.FromSeconds(1);

    private RedisServerKind Kind => server.Server.Kind;

    [Fact]
    public async Task ASessionSavedByOneReplicaIsReadByAnotherUntilItsTtlEnds()
    {
        using var api = await Replica.StartAsync(server.ConnectionString);
        using var worker = await Replica.StartAsync(server.ConnectionString);
        var session = NewSession();

        Assert.True(await api.Sessions.SaveAsync(session, TimeSpan.FromSeconds(2), CancellationToken.None));

        Assert.Equal(session, await worker.Sessions.GetAsync(session.CallSid, CancellationToken.None));
        Assert.Null(await worker.Sessions.GetAsync(session.CallSid + "-other", CancellationToken.None));
        Assert.True(await Sql.EventuallyAsync(async () => await worker.Sessions.GetAsync(session.CallSid, CancellationToken.None) is null,
            TimeSpan.FromSeconds(10)), "the session outlived its TTL");
    }

    [Fact]
    public async Task EachOverdueWatchdogIsClaimedByExactlyOneOfManyReplicas()
    {
        var replicas = new List<Replica>();
        for (var i = 0; i < 4; i++)
        {
            replicas.Add(await Replica.StartAsync(server.ConnectionString));
        }
        try
        {
            var now = DateTimeOffset.UtcNow;
            var overdue = Enumerable.Range(0, 20).Select(_ => NewCallSid()).ToList();
            foreach (var callSid in overdue)
            {
                Assert.True(await replicas[0].Sessions.ArmWatchdogAsync(callSid, now.AddSeconds(-1), CancellationToken.None));
            }
            var notYet = NewCallSid();
            Assert.True(await replicas[0].Sessions.ArmWatchdogAsync(notYet, now.AddMinutes(5), CancellationToken.None));

            // Every replica polls at once, as their watchdog loops do.
            var claimed = new ConcurrentBag<string>();
            await Task.WhenAll(replicas.Select(replica => Task.Run(async () =>
            {
                foreach (var callSid in await replica.Sessions.DueWatchdogsAsync(DateTimeOffset.UtcNow, 1000, CancellationToken.None))
                {
                    if (await replica.Sessions.ClaimWatchdogAsync(callSid, CancellationToken.None))
                    {
                        claimed.Add(callSid);
                    }
                }
            })));

            Assert.Equal(overdue.Order(StringComparer.Ordinal), claimed.Order(StringComparer.Ordinal));
            Assert.DoesNotContain(notYet, await replicas[1].Sessions.DueWatchdogsAsync(DateTimeOffset.UtcNow, 1000, CancellationToken.None));
            Assert.Contains(notYet, await replicas[1].Sessions.DueWatchdogsAsync(now.AddMinutes(6), 1000, CancellationToken.None));
            Assert.True(await replicas[2].Sessions.DisarmWatchdogAsync(notYet, CancellationToken.None));
            Assert.False(await replicas[3].Sessions.ClaimWatchdogAsync(notYet, CancellationToken.None));
        }
        finally
        {
            replicas.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task ADisarmedWatchdogIsNeverDue()
    {
        using var replica = await Replica.StartAsync(server.ConnectionString);
        var callSid = NewCallSid();
        Assert.True(await replica.Sessions.ArmWatchdogAsync(callSid, DateTimeOffset.UtcNow.AddSeconds(-1), CancellationToken.None));

        Assert.True(await replica.Sessions.DisarmWatchdogAsync(callSid, CancellationToken.None));

        Assert.DoesNotContain(callSid, await replica.Sessions.DueWatchdogsAsync(DateTimeOffset.UtcNow, 1000, CancellationToken.None));
        Assert.False(await replica.Sessions.DisarmWatchdogAsync(callSid, CancellationToken.None));
    }

    [Fact]
    public async Task ARememberedWebhookAnswerIsRecalledByAnyReplicaUntilItExpires()
    {
        using var first = await Replica.StartAsync(server.ConnectionString);
        using var second = await Replica.StartAsync(server.ConnectionString);
        var key = "/webhook/incoming_call:" + Guid.NewGuid();
        const string answer = "<Response><Say>שלום &amp; ברוכים הבאים</Say></Response>";

        Assert.Null(await second.Sessions.RecallResponseAsync(key, CancellationToken.None));
        Assert.True(await first.Sessions.RememberResponseAsync(key, answer, TimeSpan.FromSeconds(2), CancellationToken.None));

        Assert.Equal(answer, await second.Sessions.RecallResponseAsync(key, CancellationToken.None));
        Assert.True(await Sql.EventuallyAsync(async () => await second.Sessions.RecallResponseAsync(key, CancellationToken.None) is null,
            TimeSpan.FromSeconds(10)), "the remembered answer outlived its TTL");
    }

    [Fact]
    public async Task PublishedCallEventsReachEverySubscriber()
    {
        using var replica = await Replica.StartAsync(server.ConnectionString);
        await using var listener = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var received = new ConcurrentQueue<string>();
        await listener.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisCallSessions.EventsChannel), (_, message) => received.Enqueue(message.ToString()));
        var callSid = NewCallSid();

        Assert.True(await replica.Sessions.PublishAsync(new CallEvent(CallEvent.Turn, callSid, DateTimeOffset.UtcNow,
            new Dictionary<string, string> { ["text"] = "מה שמך?" }), CancellationToken.None));

        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(!received.IsEmpty), TimeSpan.FromSeconds(5)), "no event arrived");
        var published = JsonSerializer.Deserialize<CallEvent>(received.Single(), JsonSerializerOptions.Web)!;
        Assert.Equal((CallEvent.Turn, callSid, "מה שמך?"), (published.Type, published.CallSid, published.Data!["text"]));
    }

    [Fact]
    public async Task AStartedCallHasItsSessionItsWatchdogItsEventAndItsWebhookAnswerFromOneCall()
    {
        using var api = await Replica.StartAsync(server.ConnectionString);
        using var worker = await Replica.StartAsync(server.ConnectionString);
        await using var listener = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var received = new ConcurrentQueue<string>();
        await listener.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisCallSessions.EventsChannel), (_, message) => received.Enqueue(message.ToString()));
        var session = NewSession();
        var deadline = DateTimeOffset.UtcNow.AddMinutes(5);

        var key = "/webhook/incoming_call:" + Guid.NewGuid();
        const string answer = "xml:<Response><Connect><Stream url=\"wss://example.test/ws\" /></Connect></Response>";

        Assert.True(await api.Sessions.StartCallAsync(session, TimeSpan.FromMinutes(1), deadline,
            new CallEvent(CallEvent.CallStarted, session.CallSid, session.CreatedAt), new RememberedAnswer(key, answer, TimeSpan.FromMinutes(1)),
            CancellationToken.None));

        Assert.Equal(answer, await worker.Sessions.RecallResponseAsync(key, CancellationToken.None));
        Assert.Equal(session, await worker.Sessions.GetAsync(session.CallSid, CancellationToken.None));
        Assert.DoesNotContain(session.CallSid, await worker.Sessions.DueWatchdogsAsync(deadline.AddSeconds(-1), 1000, CancellationToken.None));
        Assert.Contains(session.CallSid, await worker.Sessions.DueWatchdogsAsync(deadline, 1000, CancellationToken.None));
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(!received.IsEmpty), TimeSpan.FromSeconds(5)), "no event arrived");
        var published = JsonSerializer.Deserialize<CallEvent>(received.Single(), JsonSerializerOptions.Web)!;
        Assert.Equal((CallEvent.CallStarted, session.CallSid), (published.Type, published.CallSid));
        Assert.True(await worker.Sessions.DisarmWatchdogAsync(session.CallSid, CancellationToken.None));
    }

    [Fact]
    public async Task APasswordInTheConnectionStringAuthenticates()
    {
        await using var guarded = await RedisServer.StartAsync(Kind, password: "s3cret-pw");
        using var replica = await Replica.StartAsync(guarded.ConnectionString);
        var session = NewSession();

        Assert.True(await replica.Sessions.SaveAsync(session, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal(session, await replica.Sessions.GetAsync(session.CallSid, CancellationToken.None));
        Assert.Equal(HealthStatus.Healthy, (await replica.ReadinessAsync()).Status);
    }

    [Fact]
    public async Task WithRedisGoneEveryOperationDegradesQuicklyAndItAllRecoversAfterARestart()
    {
        await using var own = await RedisServer.StartAsync(Kind);
        using var replica = await Replica.StartAsync(own.ConnectionString);
        var sessions = replica.Sessions;
        Assert.Equal(HealthStatus.Healthy, (await replica.ReadinessAsync()).Status);
        own.Stop();

        var session = NewSession();
        await AssertDegradesAsync(false, () => sessions.SaveAsync(session, TimeSpan.FromMinutes(1), CancellationToken.None));
        await AssertDegradesAsync(null, () => sessions.GetAsync(session.CallSid, CancellationToken.None));
        await AssertDegradesAsync(false, () => sessions.ArmWatchdogAsync(session.CallSid, DateTimeOffset.UtcNow, CancellationToken.None));
        await AssertDegradesAsync(false, () => sessions.StartCallAsync(session, TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow,
            new CallEvent(CallEvent.CallStarted, session.CallSid, DateTimeOffset.UtcNow), CancellationToken.None));
        await AssertDegradesAsync(false, () => sessions.DisarmWatchdogAsync(session.CallSid, CancellationToken.None));
        await AssertDegradesAsync(0, async () => (await sessions.DueWatchdogsAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None)).Count);
        await AssertDegradesAsync(false, () => sessions.ClaimWatchdogAsync(session.CallSid, CancellationToken.None));
        await AssertDegradesAsync(false, () => sessions.PublishAsync(new CallEvent(CallEvent.Ended, session.CallSid, DateTimeOffset.UtcNow), CancellationToken.None));
        await AssertDegradesAsync(false, () => sessions.RememberResponseAsync("k", "v", TimeSpan.FromMinutes(1), CancellationToken.None));
        await AssertDegradesAsync(null, () => sessions.RecallResponseAsync("k", CancellationToken.None));
        var readiness = await replica.ReadinessAsync();
        Assert.Equal(HealthStatus.Unhealthy, readiness.Entries[SessionExtensions.ConnectionName].Status);

        await own.StartAsync();
        Assert.True(await Sql.EventuallyAsync(() => sessions.SaveAsync(session, TimeSpan.FromMinutes(1), CancellationToken.None), TimeSpan.FromSeconds(30)),
            "the sessions did not reconnect after Redis came back");
        Assert.Equal(session, await sessions.GetAsync(session.CallSid, CancellationToken.None));
        Assert.True(await Sql.EventuallyAsync(async () => (await replica.ReadinessAsync()).Status == HealthStatus.Healthy, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AServiceStartedBeforeRedisUsesItOnceItComes()
    {
        var port = PortOwners.GetFreePort();
        var watch = Stopwatch.StartNew();
        using var replica = await Replica.StartAsync($"127.0.0.1:{port}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"start-up waited {watch.Elapsed} for a Redis that is not there");
        var session = NewSession();
        await AssertDegradesAsync(false, () => replica.Sessions.SaveAsync(session, TimeSpan.FromMinutes(1), CancellationToken.None));

        await using var late = await RedisServer.StartOnPortAsync(port, Kind);

        Assert.True(await Sql.EventuallyAsync(() => replica.Sessions.SaveAsync(session, TimeSpan.FromMinutes(1), CancellationToken.None), TimeSpan.FromSeconds(30)),
            "the sessions never connected to the Redis that started late");
        Assert.Equal(session, await replica.Sessions.GetAsync(session.CallSid, CancellationToken.None));
    }

    private static async Task AssertDegradesAsync<T>(T expected, Func<Task<T>> operation)
    {
        var watch = Stopwatch.StartNew();
        var result = await operation();
        Assert.Equal(expected, result);
        Assert.True(watch.Elapsed < DegradedBound, $"a degraded operation took {watch.Elapsed}");
    }

    private static string NewCallSid() => "CA" + Guid.NewGuid().ToString("N");

    private static CallSession NewSession() => new(NewCallSid(), Guid.NewGuid(), Guid.NewGuid(), null, "+972521112233", "+97231234567",
        "token-" + Guid.NewGuid().ToString("N"), TimeSpan.FromSeconds(3), DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

    /// <summary>One service's registration of the sessions, on its own host and multiplexer.</summary>
    private sealed class Replica(IHost host) : IDisposable
    {
        public ICallSessions Sessions => host.Services.GetRequiredService<ICallSessions>();

        public static async Task<Replica> StartAsync(string connectionString)
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = connectionString });
            builder.Services.AddLogging();
            builder.Services.AddMetrics();
            builder.AddCallSessions();
            var host = builder.Build();
            await host.StartAsync();
            return new Replica(host);
        }

        public Task<HealthReport> ReadinessAsync() =>
            host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));

        public void Dispose() => host.Dispose();
    }
}

/// <summary>The contract against redis-server 7.</summary>
public sealed class RedisCallSessionsContractTests(RedisServerFixture server) : CallSessionsContractTests(server), IClassFixture<RedisServerFixture>;

/// <summary>The contract against Garnet, the Redis-compatible server the AppHost's embedded mode runs.</summary>
public sealed class GarnetCallSessionsContractTests(RedisGarnetServerFixture server) : CallSessionsContractTests(server), IClassFixture<RedisGarnetServerFixture>;
