using System.Text;
using AgentLocator.Data.Model;

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// The transcript: each provider item (the caller's turn, the receptionist's reply) gets its place in the order the
/// provider created them, and is written once its text is known: the caller's from the provider's input
/// transcription, the receptionist's from its output transcript, marked when the caller cut it short.
/// </summary>
public sealed partial class RealtimeConversationEngine
{
    private readonly Dictionary<string, int> _sequences = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AssistantItem> _assistantItems = new(StringComparer.Ordinal);

    private sealed class AssistantItem
    {
        public StringBuilder Text { get; } = new();

        public bool HasFinalText { get; set; }

        public int SentBytes { get; set; }

        public bool Interrupted { get; set; }

        public int? HeardMs { get; set; }
    }

    /// <summary>The item's place in the transcript (under <see cref="_gate"/>), given at first sight.</summary>
    private int SequenceOf(string itemId)
    {
        if (!_sequences.TryGetValue(itemId, out var sequence))
        {
            sequence = _sequences.Count + 1;
            _sequences[itemId] = sequence;
        }

        return sequence;
    }

    /// <summary>The receptionist's item (under <see cref="_gate"/>).</summary>
    private AssistantItem Assistant(string itemId)
    {
        if (!_assistantItems.TryGetValue(itemId, out var item))
        {
            SequenceOf(itemId);
            item = new AssistantItem();
            _assistantItems[itemId] = item;
        }

        return item;
    }

    private void AppendAssistantText(string itemId, string? delta)
    {
        lock (_gate)
        {
            var item = Assistant(itemId);
            if (!item.HasFinalText)
            {
                item.Text.Append(delta);
            }
        }
    }

    private void SetAssistantText(string itemId, string? transcript)
    {
        if (string.IsNullOrEmpty(transcript))
        {
            return;
        }

        lock (_gate)
        {
            var item = Assistant(itemId);
            item.Text.Clear().Append(transcript);
            item.HasFinalText = true;
        }
    }

    private void SaveCallerTurn(string itemId, string? transcript)
    {
        if (string.IsNullOrWhiteSpace(transcript))
        {
            return;
        }

        int sequence;
        lock (_gate)
        {
            sequence = SequenceOf(itemId);
        }

        var turn = new TranscriptTurn { CallId = _call.CallId, Sequence = sequence, Speaker = TranscriptSpeakers.Caller, Text = transcript.Trim(), ItemId = itemId };
        _writes.Enqueue("transcript", ct => _services.Records.SaveTurnAsync(turn, ct));
    }

    /// <summary>Writes (or rewrites, once cut short) the receptionist's turn; nothing while it has no text yet.</summary>
    private void SaveAssistantTurn(string itemId)
    {
        TranscriptTurn turn;
        lock (_gate)
        {
            var item = Assistant(itemId);
            var text = item.Text.ToString().Trim();
            if (text.Length == 0)
            {
                return;
            }

            turn = new TranscriptTurn
            {
                CallId = _call.CallId,
                Sequence = _sequences[itemId],
                Speaker = TranscriptSpeakers.Assistant,
                Text = text,
                ItemId = itemId,
                Interrupted = item.Interrupted,
                HeardMs = item.HeardMs,
            };
        }

        _writes.Enqueue("transcript", ct => _services.Records.SaveTurnAsync(turn, ct));
    }
}
