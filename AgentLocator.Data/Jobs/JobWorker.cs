using System.Diagnostics;
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
/// </summary>
public sealed partial class JobWorker(
    NpgsqlDataSource dataSource,
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
        await using var command = dataSource.CreateCommand("""
            UPDATE jobs SET status = 'running', locked_by = $1, locked_until = now() + $2, attempts = attempts + 1, updated_at = now()
            WHERE id IN (
                SELECT id FROM jobs
                WHERE (status = 'pending' AND run_at <= now()) OR (status = 'running' AND locked_until < now())
                ORDER BY run_at, id
                LIMIT $3
                FOR UPDATE SKIP LOCKED)
            RETURNING id, type, payload::text, attempts, max_attempts, trace_parent
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = _workerId });
        command.Parameters.Add(new NpgsqlParameter { Value = lease });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var jobs = new List<ClaimedJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(new ClaimedJob(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }
        return jobs;
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

    private async Task CompleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE jobs SET status = 'succeeded', completed_at = now(), updated_at = now(), locked_by = NULL, locked_until = NULL
            WHERE id = $1 AND locked_by = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = _workerId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task FailAsync(long id, bool dead, TimeSpan delay, string error, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE jobs SET status = $3, run_at = now() + $4, last_error = $5, updated_at = now(), locked_by = NULL, locked_until = NULL
            WHERE id = $1 AND locked_by = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = _workerId });
        command.Parameters.Add(new NpgsqlParameter { Value = dead ? Model.JobStatuses.Dead : Model.JobStatuses.Pending });
        command.Parameters.Add(new NpgsqlParameter { Value = dead ? TimeSpan.Zero : delay });
        command.Parameters.Add(new NpgsqlParameter { Value = error });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task ReleaseAsync(long id, int attempts, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand("""
                UPDATE jobs SET status = 'pending', attempts = $3, updated_at = now(), locked_by = NULL, locked_until = NULL
                WHERE id = $1 AND locked_by = $2
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = _workerId });
            command.Parameters.Add(new NpgsqlParameter { Value = attempts });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (NpgsqlException)
        {
            // The lease expires and another worker takes the job over.
        }
    }

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    private sealed record ClaimedJob(long Id, string Type, string Payload, int Attempts, int MaxAttempts, string? TraceParent);

    [LoggerMessage(EventId = 2101, EventName = "JOB_RETRY", Level = LogLevel.Warning,
        Message = "JOB_RETRY job {JobId} ({JobType}) attempt {Attempt} failed; retrying in {DelayMs} ms: {Error}")]
    private static partial void LogRetry(ILogger logger, long jobId, string jobType, int attempt, double delayMs, string error);

    [LoggerMessage(EventId = 2102, EventName = "JOB_DEAD", Level = LogLevel.Error,
        Message = "JOB_DEAD job {JobId} ({JobType}) dead-lettered after {Attempt} attempts: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, long jobId, string jobType, int attempt, string error);

    [LoggerMessage(EventId = 2103, EventName = "JOB_LOOP_ERROR", Level = LogLevel.Error, Message = "JOB_LOOP_ERROR the job loop could not claim work")]
    private static partial void LogLoopError(ILogger logger, Exception exception);
}
