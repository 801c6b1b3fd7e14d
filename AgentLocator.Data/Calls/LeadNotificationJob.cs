namespace AgentLocator.Data.Calls;

/// <summary>
/// Tells the business over WhatsApp that a call left a lead (answers or a voicemail). Queued once
/// per call, when the conversation finished or the voicemail was stored.
/// </summary>
public static class LeadNotificationJob
{
    public const string Type = "lead.notify";

    public sealed record Payload(Guid CallId);

    public static string DedupKey(Guid callId) => "lead:" + callId.ToString("N");
}
