using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace AgentLocator.Api.Voice;

/// <summary>
/// How webhooks wait for Postgres: within a budget, and treating "not answering right now" (as
/// opposed to a bug) as a reason to answer from what they know and write later.
/// </summary>
public static class DatabaseFailures
{
    /// <summary>A token that cancels when the request is aborted or the database budget is spent.</summary>
    public static CancellationTokenSource Budget(TimeSpan budget, CancellationToken requestAborted)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        cts.CancelAfter(budget);
        return cts;
    }

    public static bool IsTransient(Exception ex, CancellationToken requestAborted) => ex switch
    {
        OperationCanceledException => !requestAborted.IsCancellationRequested,
        NpgsqlException or TimeoutException or System.Net.Sockets.SocketException => true,
        DbUpdateException { InnerException: { } inner } => IsTransient(inner, requestAborted),
        // The retrying execution strategy gave up: what it kept failing on decides.
        RetryLimitExceededException { InnerException: { } inner } => IsTransient(inner, requestAborted),
        InvalidOperationException { InnerException: { } inner } => IsTransient(inner, requestAborted),
        _ => false,
    };

    /// <summary>
    /// Postgres could not be reached (or dropped the connection), as opposed to a statement it answered with an error
    /// (a constraint, a bug): the first is waited out, the second would fail the same way on every try.
    /// </summary>
    public static bool IsUnreachable(Exception ex, CancellationToken stopping)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is PostgresException { IsTransient: false })
            {
                return false;
            }
        }

        return IsTransient(ex, stopping);
    }
}
