using System.Text.Json;
using AgentLocator.Data.Model;

namespace AgentLocator.Data.Jobs;

/// <summary>Runs one type of job. Handlers must be idempotent: a job can run again after a crash.</summary>
public interface IJobHandler
{
    string Type { get; }

    Task HandleAsync(JobContext context, CancellationToken cancellationToken);
}

public sealed record JobContext(long Id, string Type, string Payload, int Attempt, int MaxAttempts, IServiceProvider Services)
{
    public T GetPayload<T>() =>
        JsonSerializer.Deserialize<T>(Payload, JobQueue.PayloadJson) ?? throw new JobFailedException($"job {Id} has an empty payload");

    public bool IsLastAttempt => Attempt >= MaxAttempts;
}

/// <summary>Try again later (for instance, Twilio has not finished the recording yet).</summary>
public sealed class JobRetryException(string message, TimeSpan? retryAfter = null, Exception? inner = null) : Exception(message, inner)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>Will never succeed (a permanent error such as an invalid number): dead-letter at once.</summary>
public sealed class JobFailedException(string message, Exception? inner = null) : Exception(message, inner);
