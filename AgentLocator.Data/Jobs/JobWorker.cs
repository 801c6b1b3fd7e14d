using System.Diagnostics;
using AgentLocator.Data.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentLocator.Data.Jobs;

/// <summary>
/// The job loop: claims due jobs with <c>FOR UPDATE SKIP LOCKED</c> (any number of replicas),
/// runs their handlers, retries failures with exponential backoff and jitter, and dead-letters
/// a job after its maximum attempts. A job whose worker died is taken over when its lease ends.
/// Each statement goes through the context's retrying execution strategy; a claim replayed after a
/// lost reply leaves the first claim to expire with its lease.
/// </summary>
public sealed partial class JobWorker(
    IServiceScopeFactory scopes,
    IEnumerable<IJobHandler> handlers,
    IOptions<JobOptions> options,
    JobSignal signal,
    ILogger<JobWorker> logger) : BackgroundService
{
    private static readonly ActivitySource Source = new("AgentLocator.Jobs");
    private readonly Dictionary<string, IJobHandler> _handlers = handlers.ToDictionary(h => h.Type, StringComparer.Ordinal);
    private readonly string _workerId = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            int claimed;
            try
            {
                claimed = await RunOnceAsync(stoppingToken);
                failures = 0;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The database went away: keep the loop alive and back off.
                failures++;
                LogLoopError(logger, ex);
                claimed = 0;
            }
            if (claimed == 0)
            {
                var wait = failures == 0 ? settings.PollInterval : TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, failures)));
                await signal.WaitAsync(wait, stoppingToken);
            }
        }
    }

    /// <summary>Claims up to <see cref="JobOptions.Concurrency"/> due jobs and runs them; returns how many it ran.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var jobs = await ClaimAsync(settings.Concurrency, settings.Lease, cancellationToken);
        await Task.WhenAll(jobs.Select(job => RunAsync(job, settings, cancellationToken)));
        return jobs.Count;
    }

    private async Task<List<ClaimedJob>> ClaimAsync(int limit, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
        return await db.Database.SqlQuery<ClaimedJob>($"""
            UPDATE jobs SET status = 'running', locked_by = {_workerId}, locked_until = now() + {lease}, attempts = attempts + 1, updated_at = now()
            WHERE id IN (
                SELECT id FROM jobs
                WHERE (status = 'pending' AND run_at <= now()) OR (status = 'running' AND locked_until < now())
                ORDER BY run_at, id
                LIMIT {limit}
                FOR UPDATE SKIP LOCKED)
            RETURNING id AS "Id", type AS "Type", payload::text AS "Payload", attempts AS "Attempts", max_attempts AS "MaxAttempts",
                trace_parent AS "TraceParent"
            """).ToListAsync(cancellationToken);
    }

    private async Task RunAsync(ClaimedJob job, JobOptions settings, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("job " + job.Type, ActivityKind.Consumer, job.TraceParent);
        activity?.SetTag("job.id", job.Id);
        activity?.SetTag("job.attempt", job.Attempts);
        try
        {
            if (!_handlers.TryGetValue(job.Type, out var handler))
            {
                throw new JobFailedException($"no handler for job type '{job.Type}'");
            }
            await using var scope = scopes.CreateAsyncScope();
            await handler.HandleAsync(new JobContext(job.Id, job.Type, job.Payload, job.Attempts, job.MaxAttempts, scope.ServiceProvider), cancellationToken);
            await CompleteAsync(job.Id, CancellationToken.None);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: give the job back at once rather than waiting for the lease.
            await ReleaseAsync(job.Id, job.Attempts - 1, CancellationToken.None);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            var dead = ex is JobFailedException || job.Attempts >= job.MaxAttempts;
            var delay = ex is JobRetryException { RetryAfter: { } after } ? after : Backoff(job.Attempts, settings);
            if (dead)
            {
                LogDeadLettered(logger, job.Id, job.Type, job.Attempts, ex.Message);
            }
            else
            {
                LogRetry(logger, job.Id, job.Type, job.Attempts, delay.TotalMilliseconds, ex.Message);
            }
            await FailAsync(job.Id, dead, delay, Truncate(ex.ToString(), 4000), CancellationToken.None);
        }
    }

    internal static TimeSpan Backoff(int attempt, JobOptions settings)
    {
        var exponential = settings.BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempt - 1));
        var capped = Math.Min(exponential, settings.MaxBackoff.TotalMilliseconds);
        // Full jitter on the upper half keeps replicas from retrying in lockstep.
        return TimeSpan.FromMilliseconds(capped / 2 + Random.Shared.NextDouble() * capped / 2);
    }

    private Task CompleteAsync(long id, CancellationToken cancellationToken) => ExecuteAsync(db => db.Database.ExecuteSqlInterpolatedAsync($"""
        UPDATE jobs SET status = 'succeeded', completed_at = now(), updated_at = now(), locked_by = NULL, locked_until = NULL
        WHERE id = {id} AND locked_by = {_workerId}
        """, cancellationToken));

    private Task FailAsync(long id, bool dead, TimeSpan delay, string error, CancellationToken cancellationToken)
    {
        var status = dead ? Model.JobStatuses.Dead : Model.JobStatuses.Pending;
        var runIn = dead ? TimeSpan.Zero : delay;
        return ExecuteAsync(db => db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE jobs SET status = {status}, run_at = now() + {runIn}, last_error = {error}, updated_at = now(), locked_by = NULL, locked_until = NULL
            WHERE id = {id} AND locked_by = {_workerId}
            """, cancellationToken));
    }

    private async Task ReleaseAsync(long id, int attempts, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync(db => db.Database.ExecuteSqlInterpolatedAsync($"""
                UPDATE jobs SET status = 'pending', attempts = {attempts}, updated_at = now(), locked_by = NULL, locked_until = NULL
                WHERE id = {id} AND locked_by = {_workerId}
                """, cancellationToken));
        }
        catch (Exception ex) when (ex is NpgsqlException or RetryLimitExceededException)
        {
            // The lease expires and another worker takes the job over.
        }
    }

    private async Task ExecuteAsync(Func<AgentLocatorDbContext, Task<int>> statement)
    {
        await using var scope = scopes.CreateAsyncScope();
        await statement(scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>());
    }

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    internal sealed record ClaimedJob(long Id, string Type, string Payload, int Attempts, int MaxAttempts, string? TraceParent);

    [LoggerMessage(EventId = 2101, EventName = "JOB_RETRY", Level = LogLevel.Warning,
        Message = "JOB_RETRY job {JobId} ({JobType}) attempt {Attempt} failed; retrying in {DelayMs} ms: {Error}")]
    private static partial void LogRetry(ILogger logger, long jobId, string jobType, int attempt, double delayMs, string error);

    [LoggerMessage(EventId = 2102, EventName = "JOB_DEAD", Level = LogLevel.Error,
        Message = "JOB_DEAD job {JobId} ({JobType}) dead-lettered after {Attempt} attempts: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, long jobId, string jobType, int attempt, string error);

    [LoggerMessage(EventId = 2103, EventName = "JOB_LOOP_ERROR", Level = LogLevel.Error, Message = "JOB_LOOP_ERROR the job loop could not claim work")]
    private static partial void LogLoopError(ILogger logger, Exception exception);
}
