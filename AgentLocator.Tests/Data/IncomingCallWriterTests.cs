using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using AgentLocator.AppHost.Processes;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentLocator.Tests.Data;

/// <summary>
/// The <c>incoming_call</c> webhook's group commit, on a real Postgres: concurrent calls share round trips, each
/// gets its own call back, a call Postgres refuses fails alone, and nothing queued is lost at stop.
/// </summary>
public sealed class IncomingCallWriterTests : IAsyncLifetime
{
    private string _connectionString = "";
    private ServiceProvider _services = null!;
    private Guid _businessId;

    public async Task InitializeAsync()
    {
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("callwriter");
        await TestDbContexts.MigrateAsync(_connectionString);
        _services = Services(_connectionString);
        await using var db = TestDbContexts.Create(_connectionString);
        var business = new Business { Name = "writer" };
        db.Businesses.Add(business);
        await db.SaveChangesAsync();
        _businessId = business.Id;
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    private static ServiceProvider Services(string connectionString)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddDbContextPool<AgentLocatorDbContext>(options => options.UseNpgsql(connectionString, npgsql =>
            npgsql.EnableRetryOnFailure(DataExtensions.MaxRetryCount, DataExtensions.MaxRetryDelay, errorCodesToAdd: null)));
        services.AddScoped<CallStore>();
        return services.BuildServiceProvider();
    }

    private static IncomingCallWriter NewWriter(ServiceProvider services) =>
        new(services.GetRequiredService<IServiceScopeFactory>(), NullLogger<IncomingCallWriter>.Instance, services.GetRequiredService<IMeterFactory>());

    private static CounterTotals Failures(IMeterFactory factory) =>
        new("agentlocator.calls.write_failures", m => m.Scope == factory, "reason");

    /// <summary>One batch as a writer sends it: one statement (the writers may split what is queued between them).</summary>
    private async Task<RecordedCall[]> RecordBatchAsync(params IncomingCall[] calls)
    {
        await using var scope = _services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(calls, CancellationToken.None);
    }

    private IncomingCall Call(int i, string? callSid = null, Guid? businessId = null) =>
        new(callSid ?? $"CAwriter{Guid.NewGuid():N}", businessId ?? _businessId, Guid.CreateVersion7(), "+97252" + (1_000_000 + i), "+97230000000",
            "inbound", CallStatuses.Ringing, DateTimeOffset.UtcNow, IsTest: false);

    [Fact]
    public async Task CallsQueuedTogetherAreWrittenInSharedRoundTripsAndEachGetsItsOwnCall()
    {
        using var metrics = new WriterMetrics(_services.GetRequiredService<IMeterFactory>());
        var writer = NewWriter(_services);
        var calls = Enumerable.Range(0, 200).Select(i => Call(i)).ToArray();
        // Queued before the writer runs, so the batches are as large as they may be.
        var recorded = calls.Select(call => writer.RecordAsync(call, CancellationToken.None)).ToArray();
        await writer.StartAsync(CancellationToken.None);
        var results = await Task.WhenAll(recorded).WaitAsync(TimeSpan.FromSeconds(30));
        await writer.StopAsync(CancellationToken.None);

        await using var db = TestDbContexts.Create(_connectionString);
        var rows = await db.Calls.AsNoTracking().Where(c => c.BusinessId == _businessId).ToDictionaryAsync(c => c.CallSid);
        Assert.Equal(200, rows.Count);
        for (var i = 0; i < calls.Length; i++)
        {
            Assert.True(results[i].Created);
            Assert.Equal(calls[i].CallId, results[i].CallId);
            Assert.Equal(rows[calls[i].CallSid].Id, results[i].CallId);
            Assert.Equal(rows[calls[i].CallSid].CustomerId, results[i].CustomerId);
        }
        Assert.Equal(200, metrics.BatchSizes.Sum());
        Assert.All(metrics.BatchSizes, size => Assert.InRange(size, 1, IncomingCallWriter.MaxBatch));
        Assert.True(metrics.BatchSizes.Count <= 200 / IncomingCallWriter.MaxBatch + IncomingCallWriter.Writers,
            $"200 queued calls took {metrics.BatchSizes.Count} round trips: {string.Join(", ", metrics.BatchSizes)}");
    }

    [Fact]
    public async Task ACallSidWrittenBeforeOrQueuedTwiceGetsTheCallWrittenFirst()
    {
        var writer = NewWriter(_services);
        var earlier = Call(1);
        await RecordBatchAsync(earlier);
        var twice = Call(2);
        var retry = Call(2, twice.CallSid);
        var replayed = Call(3, earlier.CallSid);
        var recorded = new[] { twice, retry, replayed }.Select(call => writer.RecordAsync(call, CancellationToken.None)).ToArray();
        await writer.StartAsync(CancellationToken.None);
        var results = await Task.WhenAll(recorded).WaitAsync(TimeSpan.FromSeconds(30));
        await writer.StopAsync(CancellationToken.None);

        // The writers may split the queue, so either copy of the CallSid may be written first: both get that one.
        Assert.Equal(results[0].CallId, results[1].CallId);
        Assert.Contains(results[0].CallId, new[] { twice.CallId, retry.CallId });
        Assert.Equal(1, results.Take(2).Count(r => r.Created));
        Assert.Equal((earlier.CallId, false), (results[2].CallId, results[2].Created));
        await using var db = TestDbContexts.Create(_connectionString);
        Assert.Equal(2, await db.Calls.CountAsync(c => c.BusinessId == _businessId));
        Assert.Equal(2, await db.Customers.CountAsync(c => c.BusinessId == _businessId));
    }

    [Fact]
    public async Task ACallSidTwiceInOneBatchGetsItsFirstCall()
    {
        var twice = Call(2);
        var retry = Call(2, twice.CallSid);

        var results = await RecordBatchAsync(twice, retry);

        Assert.Equal((twice.CallId, true), (results[0].CallId, results[0].Created));
        Assert.Equal((twice.CallId, false), (results[1].CallId, results[1].Created));
        await using var db = TestDbContexts.Create(_connectionString);
        Assert.Equal(1, await db.Calls.CountAsync(c => c.BusinessId == _businessId));
    }

    [Fact]
    public async Task ACallWrittenAfterALaterOneFromTheSameNumberMovesTheCustomersFirstContactBack()
    {
        // Whole seconds: Postgres keeps microseconds.
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600);
        // Two webhooks whose rows went in separate batches, the later call's first.
        await RecordBatchAsync(Call(4) with { StartedAt = start.AddMinutes(2) });
        await RecordBatchAsync(Call(4) with { StartedAt = start.AddMinutes(1) });

        await using var db = TestDbContexts.Create(_connectionString);
        var customer = await db.Customers.AsNoTracking().SingleAsync(c => c.BusinessId == _businessId);
        Assert.Equal((start.AddMinutes(1), start.AddMinutes(2)), (customer.FirstContactAt, customer.LastContactAt));
    }

    [Fact]
    public async Task CallsFromOneNumberInOneBatchAreOneCustomerAndEachAnonymousCallerIsALeadOfTheirOwn()
    {
        // Whole seconds: Postgres keeps microseconds.
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600);
        var known = Call(7) with { StartedAt = start };
        await RecordBatchAsync(known);
        // One batch: a new number twice, the known number again, and two anonymous callers.
        var calls = new[]
        {
            Call(8) with { StartedAt = start.AddMinutes(2) }, Call(8) with { StartedAt = start.AddMinutes(1) }, Call(7) with { StartedAt = start.AddMinutes(3) },
            Call(9) with { From = "anonymous" }, Call(9) with { From = "client:web" },
        };
        var results = await RecordBatchAsync(calls);

        Assert.All(results, r => Assert.True(r.Created));
        Assert.Equal(calls.Select(c => c.CallId), results.Select(r => r.CallId));
        await using var db = TestDbContexts.Create(_connectionString);
        var customers = await db.Customers.AsNoTracking().Where(c => c.BusinessId == _businessId).ToListAsync();
        var newNumber = Assert.Single(customers, c => c.Phone == calls[0].From);
        Assert.Equal((newNumber.Id, newNumber.Id), (results[0].CustomerId, results[1].CustomerId));
        Assert.Equal((start.AddMinutes(1), start.AddMinutes(2)), (newNumber.FirstContactAt, newNumber.LastContactAt));
        var knownNumber = Assert.Single(customers, c => c.Phone == known.From);
        Assert.Equal(knownNumber.Id, results[2].CustomerId);
        Assert.Equal((known.StartedAt, start.AddMinutes(3)), (knownNumber.FirstContactAt, knownNumber.LastContactAt));
        var anonymous = customers.Where(c => c.Phone is null).ToList();
        Assert.Equal(2, anonymous.Count);
        Assert.All(anonymous, c => Assert.Equal(CallStore.AnonymousCallerName, c.Name));
        Assert.Equal(anonymous.Select(c => c.Id).Order(), new[] { results[3].CustomerId!.Value, results[4].CustomerId!.Value }.Order());
        var rows = await db.Calls.AsNoTracking().Where(c => c.BusinessId == _businessId).ToDictionaryAsync(c => c.Id);
        Assert.All(calls.Zip(results), pair => Assert.Equal(pair.Second.CustomerId, rows[pair.First.CallId].CustomerId));
    }

    [Fact]
    public async Task ACallPostgresRefusesFailsAloneAndTheRestOfItsBatchIsWritten()
    {
        using var failures = Failures(_services.GetRequiredService<IMeterFactory>());
        var writer = NewWriter(_services);
        var good = Enumerable.Range(0, 5).Select(i => Call(i)).ToArray();
        // A business deleted for good between the directory's lookup and the write: the foreign key refuses it.
        var orphan = Call(9, businessId: Guid.CreateVersion7());
        var recorded = good.Take(2).Append(orphan).Concat(good.Skip(2)).Select(call => writer.RecordAsync(call, CancellationToken.None)).ToArray();
        await writer.StartAsync(CancellationToken.None);
        await Task.WhenAll(recorded).ContinueWith(_ => { }).WaitAsync(TimeSpan.FromSeconds(30));
        await writer.StopAsync(CancellationToken.None);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => recorded[2]);
        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
        Assert.All(recorded.Where((_, i) => i != 2), task => Assert.True(task.IsCompletedSuccessfully));
        await using var db = TestDbContexts.Create(_connectionString);
        Assert.Equal(good.Select(c => c.CallSid).Order(), (await db.Calls.Select(c => c.CallSid).ToListAsync()).Order());
        Assert.Equal(1, failures.Count("refused"));
    }

    [Fact]
    public async Task WhenPostgresIsUnreachableEachCallFailsPromptlyCountedAndTheWriterGoesOn()
    {
        var closedPort = PortOwners.GetFreePort();
        await using var services = Services($"Host=127.0.0.1;Port={closedPort};Username=postgres;Password=x;Database=none;Timeout=1");
        using var failures = Failures(services.GetRequiredService<IMeterFactory>());
        var writer = NewWriter(services);
        await writer.StartAsync(CancellationToken.None);

        var first = writer.RecordAsync(Call(1), CancellationToken.None);
        await Assert.ThrowsAnyAsync<Exception>(() => first.WaitAsync(TimeSpan.FromSeconds(30)));
        // The writer outlives a failed batch: the next call is tried (and fails) too, rather than waiting forever.
        var second = writer.RecordAsync(Call(2), CancellationToken.None);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => second.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.IsNotType<TimeoutException>(failure);
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(2, failures.Count("unreachable"));
    }

    [Fact]
    public async Task AWebhookThatStopsWaitingStillHasItsCallWritten()
    {
        var writer = NewWriter(_services);
        var call = Call(1);
        using var gaveUp = new CancellationTokenSource();
        var waiting = writer.RecordAsync(call, gaveUp.Token);
        await gaveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);
        await using var db = TestDbContexts.Create(_connectionString);
        Assert.Equal(call.CallId, (await db.Calls.SingleAsync(c => c.CallSid == call.CallSid)).Id);
    }

    [Fact]
    public async Task TheBatchsPostgresSpanIsInItsFirstCallsTraceUnderItsWebhook()
    {
        using var source = new ActivitySource("AgentLocator.Tests.IncomingCallWriter");
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Npgsql" || s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var writer = NewWriter(_services);
        // Started outside any trace, as the host starts it: its loops run in no webhook's context.
        await writer.StartAsync(CancellationToken.None);

        ActivityContext webhook;
        using (var span = source.StartActivity("POST /webhook/incoming_call")!)
        {
            webhook = span.Context;
            await writer.RecordAsync(Call(1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        }
        await writer.StopAsync(CancellationToken.None);

        Assert.Contains(spans, s => s.Source.Name == "Npgsql" && s.TraceId == webhook.TraceId && s.ParentSpanId == webhook.SpanId);
    }

    /// <summary>The writer's batch sizes, from this test's own meter factory only.</summary>
    private sealed class WriterMetrics : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<int> _sizes = new();

        public WriterMetrics(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "agentlocator.calls.write_batch")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((instrument, value, _, _) =>
            {
                _sizes.Enqueue(value);
            });
            _listener.Start();
        }

        public IReadOnlyList<int> BatchSizes => [.. _sizes];

        public void Dispose() => _listener.Dispose();
    }
}
