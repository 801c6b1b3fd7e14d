using AgentLocator.Data.Calls;
using AgentLocator.Data.Model;

namespace AgentLocator.MediaWorker.Conversation;

/// <summary>The durable writes of a conversation engine, each in a scope of its own (engines outlive a request scope).</summary>
public sealed class ConversationRecords(IServiceScopeFactory scopes, TimeProvider clock)
{
    public Task<ReceptionistProfile?> FindProfileAsync(Guid businessId, CancellationToken cancellationToken) =>
        WithStoreAsync(store => store.FindProfileAsync(businessId, cancellationToken));

    public Task<LeadFields> SaveLeadAsync(Guid callId, LeadFields lead, CancellationToken cancellationToken) =>
        WithStoreAsync(store => store.SaveLeadAsync(callId, lead, clock.GetUtcNow(), cancellationToken));

    public Task SaveTurnAsync(TranscriptTurn turn, CancellationToken cancellationToken) =>
        WithStoreAsync(async store => { await store.SaveTranscriptTurnAsync(turn, cancellationToken); return true; });

    public Task RecordEngineAsync(Guid callId, string engine, string? fallbackReason, CancellationToken cancellationToken) =>
        WithStoreAsync(async store => { await store.RecordEngineAsync(callId, engine, fallbackReason, clock.GetUtcNow(), cancellationToken); return true; });

    public Task SaveSummaryAsync(Guid callId, string summary, CancellationToken cancellationToken) =>
        WithStoreAsync(async store => { await store.SaveSummaryAsync(callId, summary, clock.GetUtcNow(), cancellationToken); return true; });

    /// <summary>
    /// Queues the lead notification of a call that left a lead but ended without its goodbye (the caller hung up);
    /// not for a call sent to voicemail, whose recording job queues it once the recording is stored.
    /// </summary>
    public Task<bool> QueueLeadNotificationAsync(Guid callId, CancellationToken cancellationToken) =>
        WithStoreAsync(store => store.QueueLeadNotificationUnlessVoicemailAsync(callId, cancellationToken));

    private async Task<T> WithStoreAsync<T>(Func<ConversationStore, Task<T>> action)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<ConversationStore>());
    }
}
