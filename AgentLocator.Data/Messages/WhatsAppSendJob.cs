namespace AgentLocator.Data.Messages;

/// <summary>
/// Sends one outbound WhatsApp message (a <see cref="Model.Message"/> row in status <c>pending</c>)
/// through Twilio. The Api queues it in the transaction that writes the message; the MediaWorker runs it.
/// </summary>
public static class WhatsAppSendJob
{
    public const string Type = "whatsapp.send";

    public sealed record Payload(Guid MessageId);

    public static string DedupKey(Guid messageId) => "whatsapp:" + messageId.ToString("N");
}
