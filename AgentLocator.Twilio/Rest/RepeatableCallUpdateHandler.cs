namespace AgentLocator.Twilio.Rest;

/// <summary>
/// Marks call updates (<c>POST …/Calls/{CallSid}.json</c>: a redirect or a hang-up) as safe to repeat, so the
/// HttpClient resilience handler retries them after a 5xx or a timeout like an idempotent request: the same
/// redirect twice is harmless, and a finished call answers 21220. Messages stay unmarked (a retry could send
/// twice). Runs before the resilience handler.
/// </summary>
public sealed class RepeatableCallUpdateHandler : DelegatingHandler
{
    /// <summary>The request option the service defaults' retry policy reads (by name: no project reference).</summary>
    public static readonly HttpRequestOptionsKey<bool> RetryNonIdempotent = new("AgentLocator.Http.RetryNonIdempotent");

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Method == HttpMethod.Post && IsCallUpdate(request.RequestUri))
        {
            request.Options.Set(RetryNonIdempotent, true);
        }

        return base.SendAsync(request, cancellationToken);
    }

    private static bool IsCallUpdate(Uri? uri)
    {
        if (uri is null)
        {
            return false;
        }

        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // 2010-04-01 / Accounts / AC… / Calls / CA….json
        return segments.Length == 5 && segments[1] == "Accounts" && segments[3] == "Calls" && segments[4].EndsWith(".json", StringComparison.Ordinal);
    }
}
