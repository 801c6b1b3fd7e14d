using System.Collections.Concurrent;
using AgentLocator.Api;
using AgentLocator.Api.Voice;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AgentLocator.Tests.Voice;

/// <summary>
/// The queue of writes held while Postgres is down gives nothing up silently: a write pushed out of the full queue, or one
/// that keeps failing for a reason other than the database, is logged (DEFERRED_WRITE_DROPPED), counted and alerted, and
/// the writes behind it go on; the database being down is waited out however many tries it takes.
/// </summary>
public sealed class DeferredWritesTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("deferred");

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task AWritePushedOutOfTheFullQueueIsLoggedCountedAndAlertedAndTheOthersAreStillWritten()
    {
        await using var api = Start(capacity: 2, maxAttempts: 3);
        using var dropped = Dropped(api);
        var deferred = api.Services.GetRequiredService<DeferredWrites>();
        var written = new ConcurrentQueue<string>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The first write is being tried (the database answers slowly); two wait behind it and fill the queue.
        deferred.Add("CAfirst", "call CAfirst", async (_, ct) => { started.TrySetResult(); await gate.Task.WaitAsync(ct); written.Enqueue("CAfirst"); });
        await started.Task.WaitAsync(Patience);
        foreach (var sid in new[] { "CAoldest", "CAsecond", "CAthird" })
        {
            deferred.Add(sid, "call " + sid, (_, _) => { written.Enqueue(sid); return Task.CompletedTask; });
        }

        Assert.Equal(1, dropped.Count("queue_full"));
        Assert.True(api.Logs.Contains("DEFERRED_WRITE_DROPPED call CAoldest given up (queue_full)"), string.Join('\n', api.Logs.Lines));
        Assert.True(api.Logs.Contains("ALERT deferred_write_dropped:queue_full"), string.Join('\n', api.Logs.Lines));
        gate.SetResult();
        Assert.True(await EventuallyAsync(() => written.Count == 3), $"written: {string.Join(", ", written)}");
        Assert.Equal(["CAfirst", "CAsecond", "CAthird"], written);
    }

    [Fact]
    public async Task AWriteThatKeepsFailingForAReasonOtherThanTheDatabaseIsGivenUpVisiblyAndTheWritesBehindItGoOn()
    {
        await using var api = Start(capacity: 100, maxAttempts: 2);
        using var dropped = Dropped(api);
        var deferred = api.Services.GetRequiredService<DeferredWrites>();
        var written = new ConcurrentQueue<string>();
        var downTries = 0;

        // Postgres unreachable three times in a row is waited out (more tries than the limit for other failures) ...
        deferred.Add("CAdown", "call CAdown", (_, _) =>
        {
            if (Interlocked.Increment(ref downTries) <= 3)
            {
                throw new NpgsqlException("Failed to connect to 127.0.0.1:5432");
            }

            written.Enqueue("CAdown");
            return Task.CompletedTask;
        });
        // ... a write that fails for another reason (a bug, a constraint) is given up after its tries ...
        deferred.Add("CAbroken", "call CAbroken", (_, _) => throw new InvalidOperationException("the write is wrong"));
        // ... and so is one Postgres answers with an error (here a real one: a recording of a call that does not exist) ...
        deferred.Add("CAorphan", "call CAorphan", async (services, ct) =>
        {
            var db = services.GetRequiredService<AgentLocator.Data.Infrastructure.AgentLocatorDbContext>();
            await db.Database.ExecuteSqlRawAsync("INSERT INTO recordings (id, call_id, recording_url, status, created_at, updated_at) VALUES (gen_random_uuid(), gen_random_uuid(), 'https://api.twilio.com/r', 'pending', now(), now())", ct);
        });
        // ... and the write behind it is still made.
        deferred.Add("CAafter", "call CAafter", (_, _) => { written.Enqueue("CAafter"); return Task.CompletedTask; });

        Assert.True(await EventuallyAsync(() => written.Count == 2), $"written: {string.Join(", ", written)}\n{string.Join('\n', api.Logs.Lines)}");
        Assert.Equal(["CAdown", "CAafter"], written);
        Assert.Equal(4, downTries);
        Assert.Equal(2, dropped.Count("failing"));
        Assert.True(api.Logs.Contains("DEFERRED_WRITE_DROPPED call CAorphan given up (failing): failed 2 times"), string.Join('\n', api.Logs.Lines));
        Assert.True(api.Logs.Contains("DEFERRED_WRITE_DROPPED call CAbroken given up (failing): failed 2 times: InvalidOperationException: the write is wrong"),
            string.Join('\n', api.Logs.Lines));
        Assert.True(api.Logs.Contains("ALERT deferred_write_dropped:failing"), string.Join('\n', api.Logs.Lines));
        Assert.False(api.Logs.Contains("DEFERRED_WRITE_DROPPED call CAdown"));
    }

    [Fact]
    public async Task AWriteWaitingOnTheDatabaseHoldsBackOnlyTheWritesOfItsOwnCall()
    {
        await using var api = Start(capacity: 100, maxAttempts: 3, concurrency: 4);
        var deferred = api.Services.GetRequiredService<DeferredWrites>();
        var written = new ConcurrentQueue<string>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        deferred.Add("CAslow", "call CAslow", async (_, ct) => { started.TrySetResult(); await gate.Task.WaitAsync(ct); written.Enqueue("CAslow"); });
        await started.Task.WaitAsync(Patience);
        deferred.Add("CAslow", "call_status CAslow", (_, _) => { written.Enqueue("CAslow status"); return Task.CompletedTask; });
        var others = Enumerable.Range(0, 12).Select(i => "CAother" + i).ToList();
        foreach (var sid in others)
        {
            deferred.Add(sid, "call " + sid, (_, _) => { written.Enqueue(sid); return Task.CompletedTask; });
        }

        // Other calls' writes go on beside the slow one (12 calls all on its loop of 4: a chance of 6e-8) ...
        Assert.True(await EventuallyAsync(() => written.Any(others.Contains)), "every other call waited behind the slow one");
        Assert.DoesNotContain("CAslow status", written);
        gate.SetResult();
        Assert.True(await EventuallyAsync(() => written.Count == others.Count + 2), $"written: {string.Join(", ", written)}");
        // ... and the slow call's own writes stay in their order.
        var own = written.Where(w => w.StartsWith("CAslow", StringComparison.Ordinal)).ToList();
        Assert.Equal(["CAslow", "CAslow status"], own);
    }

    private ServiceFactory<ApiEntryPoint> Start(int capacity, int maxAttempts, int concurrency = 1)
    {
        var api = ApiTestHost.Create(_connectionString, extra: new Dictionary<string, string?>
        {
            ["Voice:DeferredWriteCapacity"] = capacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Voice:DeferredWriteMaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // One loop unless told: the other tests are about what one queue keeps, drops and orders.
            ["Voice:DeferredWriteConcurrency"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        api.CreateClient().Dispose(); // starts the host and its background loops
        return api;
    }

    /// <summary>
    /// <c>agentlocator.deferred_writes.dropped</c> of this test's host only: other test classes run beside this one and
    /// drop writes too (TelemetryExportTests records a queue_full drop), and a listener on every meter counted theirs.
    /// </summary>
    private static CounterTotals Dropped(ServiceFactory<ApiEntryPoint> api)
    {
        var meter = api.Services.GetRequiredService<ServiceTelemetry>().Meter;
        return new CounterTotals("agentlocator.deferred_writes.dropped", m => ReferenceEquals(m, meter), "reason");
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition();
    }
}
