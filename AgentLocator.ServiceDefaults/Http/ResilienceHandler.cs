using Polly;

namespace AgentLocator.ServiceDefaults.Http;

/// <summary>
/// Runs each request through a Polly <see cref="ResiliencePipeline{T}"/> (see <see cref="HttpResilience"/>).
/// Re-sendable content is kept as is (byte-array, string and form content) or buffered once; a
/// <see cref="StreamContent"/> body gets a single attempt.
/// </summary>
public sealed class ResilienceHandler(ResiliencePipeline<HttpResponseMessage> pipeline) : DelegatingHandler
{
    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var canResend = await PrepareContentAsync(request, cancellationToken).ConfigureAwait(false);

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(HttpResilience.RequestKey, request);
        context.Properties.Set(HttpResilience.CanResendKey, canResend);
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    try
                    {
                        var response = await state.Handler.SendOnceAsync(state.Request, ctx.CancellationToken).ConfigureAwait(false);
                        return Outcome.FromResult(response);
                    }
                    catch (Exception exception)
                    {
                        return Outcome.FromException<HttpResponseMessage>(exception);
                    }
                },
                context,
                (Handler: this, Request: request)).ConfigureAwait(false);

            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    private static async ValueTask<bool> PrepareContentAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        switch (request.Content)
        {
            case null:
            case ByteArrayContent: // also StringContent and FormUrlEncodedContent: re-readable
            case ReadOnlyMemoryContent:
                return true;
            case StreamContent:
                // A caller's stream may not rewind and may be large: send it once.
                return false;
            default:
                // JsonContent, MultipartContent, ...: serialise once into memory so every attempt sends the same bytes.
                await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
                return true;
        }
    }
}
