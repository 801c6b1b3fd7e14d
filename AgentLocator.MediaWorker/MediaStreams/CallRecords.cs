using AgentLocator.Data.Calls;
using AgentLocator.Data.Model;
using AgentLocator.Twilio.Rest;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>The durable writes of a live call, each in a scope of its own (the pipeline is a singleton).</summary>
public sealed class CallRecords(IServiceScopeFactory scopes, TimeProvider clock, IConfiguration configuration)
{
    /// <summary>Where a live call is sent for voicemail: <c>/webhook/stream_ended</c>, which answers the recording TwiML once a fallback is recorded.</summary>
    public string VoicemailUrl => (configuration["PublicBaseUrl"] ?? "").TrimEnd('/') + "/webhook/stream_ended";

    /// <summary>Records the stream's start on the call's row and returns the row's id, customer and test flag (null: no such call), in one statement.</summary>
    public async Task<StartedStream?> StreamStartedAsync(string callSid, string streamSid, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CallStore>().StreamStartedAsync(callSid, streamSid, clock.GetUtcNow(), cancellationToken);
    }

    public Task StreamStoppedAsync(string callSid, string? error, CancellationToken cancellationToken) =>
        WithStoreAsync(store => store.RecordStreamStoppedAsync(callSid, error, clock.GetUtcNow(), cancellationToken));

    public Task FallbackAsync(string callSid, string reason, CancellationToken cancellationToken) =>
        WithStoreAsync(store => store.RecordFallbackAsync(callSid, reason, clock.GetUtcNow(), cancellationToken));

    /// <summary>Marks the conversation completed and queues the business's lead notification, in one transaction.</summary>
    public async Task CompleteConversationAsync(string callSid, Guid callId, bool isTest, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<CallStore>().CompleteConversationAsync(callSid, callId, notify: !isTest, clock.GetUtcNow(), cancellationToken);
    }

    /// <summary>Ends the call through the REST API; a call that is already gone counts as ended.</summary>
    public async Task<CallUpdateResult> HangUpAsync(string callSid, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<TwilioRestApi>().HangUpCallAsync(callSid, cancellationToken);
    }

    /// <summary>Redirects the live call to the voicemail TwiML through the REST API; a call that is already gone counts as done.</summary>
    public async Task<CallUpdateResult> RedirectToVoicemailAsync(string callSid, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<TwilioRestApi>().RedirectCallAsync(callSid, VoicemailUrl, "POST", cancellationToken);
    }

    private async Task WithStoreAsync(Func<CallStore, Task<bool>> write)
    {
        await using var scope = scopes.CreateAsyncScope();
        await write(scope.ServiceProvider.GetRequiredService<CallStore>());
    }
}
