using System.Collections.Concurrent;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Jobs;
using AgentLocator.Data.Model;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentLocator.Tests.Data;

public sealed class JobQueueTests : IAsyncLifetime
{
    private string _connectionString = "";
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("jobs");
        await TestDbContexts.MigrateAsync(_connectionString);
        var services = new ServiceCollection();
        services.AddDbContextPool<AgentLocatorDbContext>(options => options.UseNpgsql(_connectionString, npgsql =>
            npgsql.EnableRetryOnFailure(DataExtensions.MaxRetryCount, DataExtensions.MaxRetryDelay, errorCodesToAdd: null)));
        _services = services.BuildServiceProvider();
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    private AgentLocatorDbContext NewContext() => TestDbContexts.Create(_connectionString);

    private JobWorker NewWorker(params IJobHandler[] handlers)
    {
        var options = Options.Create(new JobOptions { Enabled = true, Concurrency = 8, BaseBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(5) });
        return new JobWorker(_services.GetRequiredService<IServiceScopeFactory>(), handlers, options, new JobSignal(), NullLogger<JobWorker>.Instance);
    }

    private async Task<Job> ReloadAsync(long id)
    {
        await using var db = NewContext();
        return await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == id);
    }

    private async Task DrainAsync(JobWorker worker, int rounds = 20)
    {
        for (var i = 0; i < rounds; i++)
        {
            await worker.RunOnceAsync(CancellationToken.None);
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task AJobRolledBackWithItsDataIsNeverQueued()
    {
        await using var db = NewContext();
        await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Businesses.Add(new Business { Name = "rolled back" });
            JobQueue.Enqueue(db, "noop", new { x = 1 });
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        });
        await using var check = NewContext();
        Assert.Equal(0, await check.Jobs.CountAsync());
        Assert.Equal(0, await check.Businesses.CountAsync());
    }

    [Fact]
    public async Task AFailingJobIsRetriedThenSucceeds()
    {
        var handler = new ScriptedHandler("flaky", failTimes: 2);
        await using var db = NewContext();
        var job = JobQueue.Enqueue(db, "flaky", new { value = "hello" });
        await db.SaveChangesAsync();

        await DrainAsync(NewWorker(handler));

        var stored = await ReloadAsync(job.Id);
        Assert.Equal(JobStatuses.Succeeded, stored.Status);
        Assert.Equal(3, stored.Attempts);
        Assert.Equal(["hello", "hello", "hello"], handler.Payloads);
    }

    [Fact]
    public async Task AJobThatKeepsFailingIsDeadLetteredWithItsError()
    {
        var handler = new ScriptedHandler("broken", failTimes: int.MaxValue);
        await using var db = NewContext();
        var job = JobQueue.Enqueue(db, "broken", new { value = "x" }, maxAttempts: 3);
        await db.SaveChangesAsync();

        await DrainAsync(NewWorker(handler));

        var stored = await ReloadAsync(job.Id);
        Assert.Equal(JobStatuses.Dead, stored.Status);
        Assert.Equal(3, stored.Attempts);
        Assert.Contains("scripted failure 3", stored.LastError);
        Assert.Equal(3, handler.Payloads.Count);
    }

    [Fact]
    public async Task APermanentFailureIsDeadLetteredAtOnce()
    {
        var handler = new ScriptedHandler("permanent", failTimes: int.MaxValue, permanent: true);
        await using var db = NewContext();
        var job = JobQueue.Enqueue(db, "permanent", new { value = "x" });
        await db.SaveChangesAsync();

        await DrainAsync(NewWorker(handler), rounds: 3);

        var stored = await ReloadAsync(job.Id);
        Assert.Equal(JobStatuses.Dead, stored.Status);
        Assert.Equal(1, stored.Attempts);
    }

    [Fact]
    public async Task TwoWorkersRunEachJobExactlyOnce()
    {
        var handler = new ScriptedHandler("count", failTimes: 0, delay: TimeSpan.FromMilliseconds(5));
        await using (var db = NewContext())
        {
            for (var i = 0; i < 60; i++)
            {
                JobQueue.Enqueue(db, "count", new { value = i.ToString() });
            }
            await db.SaveChangesAsync();
        }
        var a = NewWorker(handler);
        var b = NewWorker(handler);
        await Task.WhenAll(DrainAsync(a, 15), DrainAsync(b, 15));

        Assert.Equal(60, handler.Payloads.Count);
        Assert.Equal(60, handler.Payloads.Distinct().Count());
        await using var check = NewContext();
        Assert.Equal(60, await check.Jobs.CountAsync(j => j.Status == JobStatuses.Succeeded));
    }

    [Fact]
    public async Task EnqueueOnceIgnoresARepeatedDedupKey()
    {
        await using var db = NewContext();
        Assert.True(await JobQueue.EnqueueOnceAsync(db, "noop", new { n = 1 }, "recording:RE123"));
        Assert.False(await JobQueue.EnqueueOnceAsync(db, "noop", new { n = 2 }, "recording:RE123"));
        Assert.Equal(1, await db.Jobs.CountAsync(j => j.DedupKey == "recording:RE123"));
    }

    [Fact]
    public async Task AJobWhoseWorkerDiedIsTakenOverAfterItsLease()
    {
        await using var db = NewContext();
        var job = JobQueue.Enqueue(db, "count", new { value = "orphan" });
        await db.SaveChangesAsync();
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"UPDATE jobs SET status = 'running', locked_by = 'dead-worker', locked_until = now() - interval '1 second', attempts = 1 WHERE id = {job.Id}");

        var handler = new ScriptedHandler("count", failTimes: 0);
        await DrainAsync(NewWorker(handler), rounds: 2);

        Assert.Equal(["orphan"], handler.Payloads);
        Assert.Equal(JobStatuses.Succeeded, (await ReloadAsync(job.Id)).Status);
    }

    private sealed class ScriptedHandler(string type, int failTimes, bool permanent = false, TimeSpan? delay = null) : IJobHandler
    {
        private int _calls;

        public ConcurrentQueue<string> Calls { get; } = new();

        public List<string> Payloads => [.. Calls];

        public string Type => type;

        public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
        {
            Calls.Enqueue(context.GetPayload<Payload>().Value);
            var n = Interlocked.Increment(ref _calls);
            if (delay is { } d)
            {
                await Task.Delay(d, cancellationToken);
            }
            if (n <= failTimes)
            {
                throw permanent ? new JobFailedException($"scripted failure {n}") : new InvalidOperationException($"scripted failure {n}");
            }
        }

        private sealed record Payload(string Value);
    }
}
