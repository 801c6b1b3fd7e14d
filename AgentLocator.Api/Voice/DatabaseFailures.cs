using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AgentLocator.Api.Voice;

/// <summary>Failures that mean "the database is not answering right now", as opposed to bugs.</summary>
public static class DatabaseFailures
{
    public static bool IsTransient(Exception ex, CancellationToken requestAborted) => ex switch
    {
        OperationCanceledException => !requestAborted.IsCancellationRequested,
        NpgsqlException or TimeoutException or System.Net.Sockets.SocketException => true,
        DbUpdateException { InnerException: { } inner } => IsTransient(inner, requestAborted),
        InvalidOperationException { InnerException: { } inner } => IsTransient(inner, requestAborted),
        _ => false,
    };
}
